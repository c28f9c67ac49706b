"""GreedyPolicy: always the mode of another policy's distribution."""

from typing import Any

import tensorflow as tf
import tensorflow_probability as tfp

from rlrun.policies.tf_policy import TFPolicy
from rlrun.trajectories import PolicyStep


class GreedyPolicy(TFPolicy):
  """Acts with the mode of `policy`'s action distribution; deterministic."""

  def __init__(self, policy: TFPolicy, name: str = "GreedyPolicy"):
    super().__init__(policy.time_step_spec, policy.action_spec, policy.policy_state_spec,
                     policy.info_spec, clip=False, name=name)
    self._wrapped_policy = policy

  @property
  def wrapped_policy(self) -> TFPolicy:
    return self._wrapped_policy

  def _distribution(self, time_step, policy_state) -> PolicyStep:
    step = self._wrapped_policy.distribution(time_step, policy_state)
    mode = tf.nest.map_structure(
        lambda d: tfp.distributions.Deterministic(loc=d.mode()), step.action)
    return step._replace(action=mode)

  def _action(self, time_step, policy_state, seed) -> PolicyStep:
    step = self._wrapped_policy.distribution(time_step, policy_state)
    return step._replace(action=tf.nest.map_structure(lambda d: d.mode(), step.action))

  def as_numpy_policy(self, greedy: bool = True) -> Any:
    del greedy  # always the mode
    return self._wrapped_policy.as_numpy_policy(greedy=True)
