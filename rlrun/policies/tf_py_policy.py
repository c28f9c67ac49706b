"""TFPyPolicy: a numpy PyPolicy used where a TFPolicy is expected."""

from typing import Any, List, Optional

import numpy as np
import tensorflow as tf
import tree

from rlrun.policies.py_policy import PyPolicy
from rlrun.policies.tf_policy import TFPolicy
from rlrun.trajectories import PolicyStep


class TFPyPolicy(TFPolicy):
  """Runs `py_policy.action` through `tf.numpy_function`, so it works in tf.functions too.

  Outputs get their dtypes and shapes from the py policy's specs (plus the batch dim
  of the time step). When the py policy is stateless the policy state passes through
  untouched; otherwise it goes through the py policy like the time step.

  Args:
    py_policy: the PyPolicy; it needs a time_step_spec (its specs become TensorSpecs).
    py_policy_is_batched: the py policy takes batched time steps. If False, time
      steps must have batch size 1: the batch dim is removed before calling the py
      policy and added back to its outputs.
    name: the module's name.

  Raises:
    ValueError: when `py_policy` has no time_step_spec.
  """

  def __init__(self, py_policy: PyPolicy, py_policy_is_batched: bool = False,
               name: Optional[str] = None):
    if py_policy.time_step_spec is None:
      raise ValueError(f"TFPyPolicy needs a py_policy with a time_step_spec, but "
                       f"{type(py_policy).__name__}.time_step_spec is None; build it with "
                       "time_step_spec=ts.time_step_spec(observation_spec)")
    super().__init__(py_policy.time_step_spec, py_policy.action_spec,
                     py_policy.policy_state_spec, py_policy.info_spec, clip=False, name=name)
    self._py_policy = py_policy
    self._py_policy_is_batched = bool(py_policy_is_batched)
    self._stateful = bool(tf.nest.flatten(self.policy_state_spec))

  @property
  def py_policy(self) -> PyPolicy:
    return self._py_policy

  def _output_specs(self) -> List[Any]:
    """The flat specs of the py function's outputs: action, [state,] info."""
    specs = tf.nest.flatten(self.action_spec)
    if self._stateful:
      specs += tf.nest.flatten(self.policy_state_spec)
    return specs + tf.nest.flatten(self.info_spec)

  def _action(self, time_step, policy_state, seed) -> PolicyStep:
    del seed  # The py policy draws its own randomness.
    step_type = tf.convert_to_tensor(time_step.step_type)
    batch_dim = step_type.shape[0]
    if not self._py_policy_is_batched and batch_dim is not None and batch_dim != 1:
      raise ValueError(f"TFPyPolicy got a batch of {batch_dim} time steps for an unbatched "
                       f"py policy; pass py_policy_is_batched=True or use batch size 1")
    inputs = tf.nest.flatten(time_step)
    num_time_step = len(inputs)
    if self._stateful:
      inputs += tf.nest.flatten(policy_state)
    specs = self._output_specs()
    flat = tf.numpy_function(lambda *arrays: self._py_action(list(arrays), num_time_step),
                             inputs, [s.dtype for s in specs], stateful=True)
    if not isinstance(flat, (list, tuple)):
      flat = [flat]  # numpy_function unwraps a single output even when Tout is a list
    flat = list(flat)
    for tensor, spec in zip(flat, specs):
      tensor.set_shape(tf.TensorShape([batch_dim]).concatenate(spec.shape))
    num_action = len(tf.nest.flatten(self.action_spec))
    action = tf.nest.pack_sequence_as(self.action_spec, flat[:num_action])
    rest = flat[num_action:]
    if self._stateful:
      num_state = len(tf.nest.flatten(self.policy_state_spec))
      policy_state = tf.nest.pack_sequence_as(self.policy_state_spec, rest[:num_state])
      rest = rest[num_state:]
    info = tf.nest.pack_sequence_as(self.info_spec, rest)
    return PolicyStep(action, policy_state, info)

  def _py_action(self, arrays: List[np.ndarray], num_time_step: int) -> List[np.ndarray]:
    """Called by numpy_function: numpy inputs in, numpy outputs (flat) out."""
    if not self._py_policy_is_batched:
      if arrays and arrays[0].shape[:1] != (1,):
        raise ValueError(f"TFPyPolicy got time steps of batch shape {arrays[0].shape[:1]} "
                         "for an unbatched py policy; pass py_policy_is_batched=True")
      arrays = [a[0] for a in arrays]
    time_step = tf.nest.pack_sequence_as(self.time_step_spec, arrays[:num_time_step])
    state = (tf.nest.pack_sequence_as(self.policy_state_spec, arrays[num_time_step:])
             if self._stateful else ())
    step = self._py_policy.action(time_step, state)
    outputs = tf.nest.flatten(step.action)
    if self._stateful:
      # Up to the spec's leaves, so a list state like [index, count] is one array.
      outputs += tree.flatten(tree.map_structure_up_to(self.policy_state_spec, np.asarray,
                                                       step.state))
    outputs += tf.nest.flatten(step.info)
    arrays = [np.asarray(x, dtype=s.dtype.as_numpy_dtype)
              for x, s in zip(outputs, self._output_specs())]
    return arrays if self._py_policy_is_batched else [a[None] for a in arrays]

