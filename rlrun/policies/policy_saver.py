"""PolicySaver: exports a TFPolicy as a SavedModel that runs without rlrun.

The SavedModel has:
  * `signatures['action']`: keyword arguments step_type [B] int32, reward [B] float32,
    discount [B] float32, observation [B, ...] (nested observations are flattened as
    `observation_<path>`) and, for stateful policies, `policy_state_<path>`; returns a
    dict with `action` (or `action_<path>`) and `policy_state_<path>` entries.
  * `action(time_step, policy_state)`: the same as a tf.function on nests.
  * `get_initial_state(batch_size)`, `get_train_step()`.
  * `rlrun_policy.json`: the specs and metadata (read by SavedModelPyTFEagerPolicy).
"""

import json
import os
from typing import Any, Dict, Optional

import tensorflow as tf
import tree

from rlrun.policies.py_tf_eager_policy import SPECS_FILE
from rlrun.specs import spec_codec, tensor_spec


def named_leaves(prefix: str, nest: Any):
  """(name, value) for every leaf, named prefix or prefix_<path> for nested leaves."""
  with_paths = tree.flatten_with_path(nest)
  paths = ["_".join(str(k) for k in path) for path, _ in with_paths]
  leaves = [leaf for _, leaf in with_paths]
  if len(leaves) == 1 and paths == [""]:
    return [(prefix, leaves[0])]
  return [(f"{prefix}_{p}" if p else prefix, leaf) for p, leaf in zip(paths, leaves)]


class PolicySaver:
  """Saves `policy` (and the train step it was saved at) as a SavedModel.

  Args:
    policy: the TFPolicy to export.
    train_step: a scalar int variable recorded with the policy (optional).
    metadata: extra JSON-serialisable facts written to rlrun_policy.json
      (e.g. the environment name).
  """

  def __init__(self, policy, train_step: Optional[tf.Variable] = None,
               metadata: Optional[Dict[str, Any]] = None):
    self._policy = policy
    self._train_step = train_step if train_step is not None else tf.Variable(0, dtype=tf.int64)
    self._metadata = dict(metadata or {})
    self._module = self._build_module()

  def _build_module(self) -> tf.Module:
    policy = self._policy
    ts_spec = tensor_spec.add_outer_dim(policy.time_step_spec)
    state_spec = tensor_spec.add_outer_dim(policy.policy_state_spec)
    stateful = bool(tf.nest.flatten(state_spec))
    module = tf.Module()
    module.policy = policy
    module.train_step = self._train_step

    if stateful:
      module.action = tf.function(policy.action, input_signature=[ts_spec, state_spec],
                                  autograph=False)
    else:
      module.action = tf.function(lambda time_step, policy_state=(): policy.action(time_step),
                                  input_signature=[ts_spec], autograph=False)

    ts_names = (named_leaves("step_type", ts_spec.step_type) + named_leaves("reward", ts_spec.reward)
                + named_leaves("discount", ts_spec.discount)
                + named_leaves("observation", ts_spec.observation))
    state_names = named_leaves("policy_state", state_spec) if stateful else []
    flat_signature = [tf.TensorSpec(s.shape, s.dtype, name=n) for n, s in ts_names + state_names]
    num_ts = len(ts_names)

    @tf.function(input_signature=flat_signature, autograph=False)
    def action_signature(*flat):
      time_step = tf.nest.pack_sequence_as(ts_spec, list(flat[:num_ts]))
      state = tf.nest.pack_sequence_as(state_spec, list(flat[num_ts:])) if stateful else ()
      step = module.action(time_step, state) if stateful else module.action(time_step)
      outputs = dict(named_leaves("action", step.action))
      if stateful:
        outputs.update(named_leaves("policy_state", step.state))
      return outputs

    @tf.function(input_signature=[tf.TensorSpec((), tf.int32, name="batch_size")],
                 autograph=False)
    def get_initial_state(batch_size):
      if not stateful:
        return {}
      return dict(named_leaves("policy_state", policy.get_initial_state(batch_size)))

    @tf.function(input_signature=[], autograph=False)
    def get_train_step():
      return tf.identity(self._train_step)

    module.action_signature = action_signature
    module.get_initial_state = get_initial_state
    module.get_train_step = get_train_step
    return module

  def save(self, export_dir: str) -> None:
    """Writes the SavedModel to `export_dir` (replacing it atomically where possible)."""
    parent = os.path.dirname(os.path.abspath(export_dir))
    os.makedirs(parent, exist_ok=True)
    staging = f"{os.path.abspath(export_dir)}.tmp-{os.getpid()}"
    tf.saved_model.save(self._module, staging, signatures={
        "action": self._module.action_signature,
        "get_initial_state": self._module.get_initial_state,
        "get_train_step": self._module.get_train_step,
    })
    metadata = dict(self._metadata, train_step=int(self._train_step.numpy()),
                    policy_class=type(self._policy).__name__)
    for key in ("time_step_spec", "action_spec", "policy_state_spec", "info_spec"):
      metadata[key] = spec_codec.encode(getattr(self._policy, key))
    with open(os.path.join(staging, SPECS_FILE), "w") as f:
      json.dump(metadata, f, indent=1)
    _replace_dir(staging, export_dir)


def _replace_dir(src: str, dst: str) -> None:
  """Moves `src` to `dst`, so readers never see a half-written policy."""
  import shutil
  old = f"{os.path.abspath(dst)}.old-{os.getpid()}"
  if os.path.exists(dst):
    os.rename(dst, old)
  os.rename(src, dst)
  shutil.rmtree(old, ignore_errors=True)
