"""The observation -> action function an exported file holds, cut from a policy SavedModel.

A saved policy's `action` signature takes a whole time step (step_type, reward, discount,
observation). A greedy policy without state reads only the observation, so the exported
function takes the observation leaves (`observation`, or `observation_<path>` for nested
ones) and returns the action leaves (`action`, or `action_<path>`), batch first.
"""

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import tensorflow as tf

from rlrun.errors import UserError
from rlrun.policies.py_tf_eager_policy import SPECS_FILE

# The time-step fields the function fills in itself: a mid-episode step.
_FILLED = {"step_type": tf.int32, "reward": tf.float32, "discount": tf.float32}
# Ops that draw random numbers: a policy holding one acts at random (a collect policy).
_RANDOM_OPS = ("Random", "Multinomial", "StatelessRandom", "StatelessMultinomial",
               "StatelessTruncatedNormal", "TruncatedNormal", "ParameterizedTruncatedNormal")
NOT_RLRUN = "not a policy saved by rlrun train (pass policies/policy, best or step_<N>)"


def _first_line(error: Exception) -> str:
  lines = [line for line in str(error).splitlines() if line.strip()]
  return lines[0] if lines else type(error).__name__


class GreedyFunction:
  """Loads `policy_dir` and builds `function`: {observation name: [B, ...]} -> {action name}.

  Raises:
    UserError: not an rlrun policy, a policy with state, or one that acts at random.
  """

  def __init__(self, policy_dir: Path):
    self.policy_dir = policy_dir
    self.metadata = self._metadata(policy_dir)
    try:
      self.saved = tf.saved_model.load(str(policy_dir))
    except Exception as e:  # TF raises several types for corrupt SavedModels.
      raise UserError(f"cannot load policy {policy_dir}: {_first_line(e)}") from None
    signature = getattr(self.saved, "signatures", {}).get("action")
    inputs = signature.structured_input_signature[1] if signature is not None else {}
    state = sorted(name for name in inputs if name.startswith("policy_state"))
    if state:
      raise UserError(f"{policy_dir} is a policy with state ({', '.join(state)}); export "
                      "writes stateless greedy policies only")
    self.input_specs = {name: tf.TensorSpec(spec.shape, spec.dtype, name=name)
                        for name, spec in sorted(inputs.items()) if name not in _FILLED}
    filled_ok = all(name in inputs and inputs[name].dtype == dtype and
                    inputs[name].shape.rank == 1 for name, dtype in _FILLED.items())
    if (not filled_ok or not self.input_specs or
        not all(name.startswith("observation") for name in self.input_specs)):
      raise UserError(f"{policy_dir}: {NOT_RLRUN}")

    def act(observations):
      batch = tf.shape(tf.nest.flatten(observations)[0])[0]
      return signature(step_type=tf.ones([batch], tf.int32), reward=tf.zeros([batch]),
                       discount=tf.ones([batch]), **observations)

    try:
      self.function = tf.function(act, input_signature=[self.input_specs], autograph=False)
      self.concrete = self.function.get_concrete_function()
    except (TypeError, ValueError) as e:
      raise UserError(f"{policy_dir}: {NOT_RLRUN} ({_first_line(e)})") from None
    self.output_names = sorted(self.concrete.structured_outputs)
    random_ops = self.random_ops()
    if random_ops:
      raise UserError(f"{policy_dir} acts at random (its graph draws with "
                      f"{', '.join(random_ops)}); export a greedy policy: policies/policy, "
                      "best or step_<N>")

  @staticmethod
  def _metadata(policy_dir: Path) -> Dict[str, Any]:
    path = policy_dir / SPECS_FILE
    try:
      metadata = json.loads(path.read_text())
    except FileNotFoundError:
      raise UserError(f"{policy_dir}: {NOT_RLRUN}; {SPECS_FILE} is missing") from None
    except (OSError, ValueError) as e:
      raise UserError(f"{path} is unreadable ({_first_line(e)}); export the policy again "
                      "with rlrun train") from None
    if not isinstance(metadata, dict) or "time_step_spec" not in metadata:
      raise UserError(f"{path} holds no time_step_spec; export the policy again with "
                      "rlrun train")
    return metadata

  def random_ops(self) -> List[str]:
    """The random-number ops anywhere in the function (its nested functions included)."""
    graph = self.concrete.graph.as_graph_def()
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    return sorted({n.op for n in nodes if n.op.startswith(_RANDOM_OPS)})

  @property
  def train_step(self) -> Optional[int]:
    step = getattr(self.saved, "signatures", {}).get("get_train_step")
    if step is None:
      return None
    return int(next(iter(step().values())).numpy())

  def __call__(self, observations: Dict[str, np.ndarray],
               batch: int = 1000) -> Dict[str, np.ndarray]:
    """The SavedModel's actions, `batch` observations per call."""
    count = len(next(iter(observations.values())))
    parts = [self.function({k: tf.constant(v[i:i + batch]) for k, v in observations.items()})
             for i in range(0, count, batch)]
    return {name: np.concatenate([p[name].numpy() for p in parts]) for name in parts[0]}
