"""Use TF policies from numpy code: PyTFEagerPolicy and SavedModelPyTFEagerPolicy."""

import json
import os
from typing import Any, Callable

import numpy as np
import tensorflow as tf

from rlrun.policies.py_policy import PyPolicy
from rlrun.specs import spec_codec, tensor_spec
from rlrun.trajectories import PolicyStep

SPECS_FILE = "rlrun_policy.json"


class _EagerAdapter(PyPolicy):
  """Converts numpy time steps to tensors, calls a TF action function, returns numpy."""

  def __init__(self, action_fn: Callable, time_step_spec, action_spec, policy_state_spec=(),
               info_spec=(), batch_time_steps: bool = True):
    super().__init__(time_step_spec, action_spec, policy_state_spec, info_spec)
    self._action_fn = action_fn
    self._batch_time_steps = batch_time_steps

  def _action(self, time_step, policy_state) -> PolicyStep:
    if self._batch_time_steps:
      time_step = tf.nest.map_structure(lambda x: np.asarray(x)[None], time_step)
      policy_state = tf.nest.map_structure(lambda x: np.asarray(x)[None], policy_state)
    step = self._action_fn(tf.nest.map_structure(tf.convert_to_tensor, time_step), policy_state)
    step = tf.nest.map_structure(lambda t: t.numpy(), step)
    if self._batch_time_steps:
      step = tf.nest.map_structure(lambda x: x[0], step)
    return PolicyStep(*step)


class PyTFEagerPolicy(_EagerAdapter):
  """A TFPolicy used from numpy, eagerly or as a tf.function.

  Args:
    policy: the TFPolicy.
    use_tf_function: trace `policy.action` into a tf.function (faster per call).
    batch_time_steps: time steps come unbatched; add (and strip) a batch dim of 1.
  """

  def __init__(self, policy, use_tf_function: bool = False, batch_time_steps: bool = True):
    action_fn = policy.action
    if use_tf_function:
      action_fn = tf.function(action_fn, autograph=False)
    super().__init__(lambda ts, state: action_fn(ts, state),
                     tensor_spec.to_nest_array_spec(policy.time_step_spec),
                     tensor_spec.to_nest_array_spec(policy.action_spec),
                     tensor_spec.to_nest_array_spec(policy.policy_state_spec),
                     tensor_spec.to_nest_array_spec(policy.info_spec), batch_time_steps)
    self._policy = policy

  def get_initial_state(self, batch_size: Any = None) -> Any:
    state = self._policy.get_initial_state(1 if self._batch_time_steps else batch_size)
    state = tf.nest.map_structure(lambda t: t.numpy(), state)
    return tf.nest.map_structure(lambda x: x[0], state) if self._batch_time_steps else state


class SavedModelPyTFEagerPolicy(_EagerAdapter):
  """Loads a policy written by PolicySaver and acts with it from numpy.

  Raises:
    ValueError: when `model_path` is not a SavedModel written by PolicySaver.
  """

  def __init__(self, model_path: str, batch_time_steps: bool = True):
    specs_path = os.path.join(model_path, SPECS_FILE)
    if not os.path.isfile(os.path.join(model_path, "saved_model.pb")):
      raise ValueError(f"{model_path} is not a SavedModel directory (no saved_model.pb); "
                       "point at e.g. <root-dir>/policies/policy")
    if not os.path.isfile(specs_path):
      raise ValueError(f"{model_path} has no {SPECS_FILE}: it was not written by rlrun's "
                       "PolicySaver")
    with open(specs_path) as f:
      self.metadata = json.load(f)
    specs = {k: spec_codec.decode(self.metadata[k])
             for k in ("time_step_spec", "action_spec", "policy_state_spec", "info_spec")}
    self._loaded = tf.saved_model.load(model_path)
    super().__init__(self._loaded.action, specs["time_step_spec"], specs["action_spec"],
                     specs["policy_state_spec"], specs["info_spec"], batch_time_steps)

  def get_train_step(self) -> int:
    return int(self._loaded.get_train_step().numpy())

  def get_initial_state(self, batch_size: Any = None) -> Any:
    if not tf.nest.flatten(self.policy_state_spec):
      return ()
    return super().get_initial_state(batch_size)
