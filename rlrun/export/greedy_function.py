"""The observation -> action function an exported file holds, cut from a policy SavedModel.

A saved policy's `action` signature takes a whole time step (step_type, reward, discount,
observation). A greedy policy without state reads only the observation, so the exported
function takes the observation leaves (`observation`, or `observation_<path>` for nested
ones) and returns the action leaves (`action`, or `action_<path>`), batch first.
"""

import json
from pathlib import Path
from typing import Dict

import numpy as np
import tensorflow as tf

from rlrun.errors import UserError
from rlrun.policies.py_tf_eager_policy import SPECS_FILE

# The time-step fields the function fills in itself: a mid-episode step.
_FILLED = ("step_type", "reward", "discount")


class GreedyFunction:
  """Loads `policy_dir` and builds `function`: {observation name: [B, ...]} -> {action name}."""

  def __init__(self, policy_dir: Path):
    self.policy_dir = policy_dir
    try:
      self.metadata = json.loads((policy_dir / SPECS_FILE).read_text())
    except (OSError, ValueError):
      self.metadata = {}
    try:
      self.saved = tf.saved_model.load(str(policy_dir))
      signature = self.saved.signatures["action"]
    except KeyError:
      raise UserError(f"{policy_dir} has no 'action' signature: not a policy saved by "
                      "rlrun train") from None
    except Exception as e:  # TF raises several types for corrupt SavedModels.
      raise UserError(f"cannot load policy {policy_dir}: {str(e).splitlines()[0]}") from e
    inputs = signature.structured_input_signature[1]
    state = sorted(name for name in inputs if name.startswith("policy_state"))
    if state:
      raise UserError(f"{policy_dir} is a policy with state ({', '.join(state)}); export "
                      "writes stateless greedy policies only")
    self.input_specs = {name: tf.TensorSpec(spec.shape, spec.dtype, name=name)
                        for name, spec in sorted(inputs.items()) if name not in _FILLED}

    def act(inputs):
      batch = tf.shape(tf.nest.flatten(inputs)[0])[0]
      return signature(step_type=tf.ones([batch], tf.int32), reward=tf.zeros([batch]),
                       discount=tf.ones([batch]), **inputs)

    self.function = tf.function(act, input_signature=[self.input_specs], autograph=False)
    self.concrete = self.function.get_concrete_function()
    self.output_names = sorted(self.concrete.structured_outputs)

  @property
  def train_step(self) -> int:
    return int(self.saved.signatures["get_train_step"]()["output_0"].numpy())

  def __call__(self, observations: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    outputs = self.function({k: tf.constant(v) for k, v in observations.items()})
    return {name: value.numpy() for name, value in outputs.items()}
