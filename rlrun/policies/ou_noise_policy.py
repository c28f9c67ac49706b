"""OUNoisePolicy: another policy's continuous actions plus Ornstein-Uhlenbeck noise."""

from typing import Any, Optional

import tensorflow as tf

from rlrun.policies.gaussian_policy import continuous_leaves_or_raise
from rlrun.policies.tf_policy import TFPolicy
from rlrun.trajectories import PolicyStep


class OUNoisePolicy(TFPolicy):
  """Adds temporally correlated (Ornstein-Uhlenbeck) noise to continuous actions.

  Each continuous action leaf has a noise process x, kept in a tf.Variable shaped like
  one action, updated at every `action()` call as
  `x <- (1 - ou_damping) * x + ou_stddev * N(0, 1)` and added to the action. The
  process is a single one shared across the batch: every batch entry of a call gets
  the same noise (as in DDPG's exploration). Discrete leaves are returned unchanged.

  Args:
    wrapped_policy: the TFPolicy whose actions get noise.
    ou_stddev: the standard deviation of each step's Gaussian increment.
    ou_damping: how fast the process returns to 0 (0: a random walk, 1: white noise).
    clip: clip noisy actions to the action spec's bounds.
    name: the module's name.

  Raises:
    ValueError: when the action spec has no continuous leaf, ou_stddev is negative or
      ou_damping is outside [0, 1].
  """

  def __init__(self, wrapped_policy: TFPolicy, ou_stddev: float = 1.0, ou_damping: float = 1.0,
               clip: bool = True, name: Optional[str] = None):
    super().__init__(wrapped_policy.time_step_spec, wrapped_policy.action_spec,
                     wrapped_policy.policy_state_spec, wrapped_policy.info_spec, clip=clip,
                     name=name)
    continuous_leaves_or_raise(self.action_spec, "OUNoisePolicy")
    if ou_stddev < 0:
      raise ValueError(f"OUNoisePolicy ou_stddev={ou_stddev} is negative; use a value >= 0")
    if not 0.0 <= ou_damping <= 1.0:
      raise ValueError(f"OUNoisePolicy ou_damping={ou_damping} is outside [0, 1]; 0 keeps "
                       "all of the previous noise, 1 none of it")
    self._wrapped_policy = wrapped_policy
    self._ou_stddev = float(ou_stddev)
    self._ou_damping = float(ou_damping)
    # Created here, not in action(), so that action() can be traced into a tf.function.
    self._noise = tf.nest.map_structure(
        lambda spec: tf.Variable(tf.zeros(spec.shape, spec.dtype), trainable=False,
                                 name="ou_noise") if spec.dtype.is_floating else None,
        self.action_spec)

  @property
  def wrapped_policy(self) -> TFPolicy:
    return self._wrapped_policy

  @property
  def noise(self) -> Any:
    """The noise processes' variables, a nest like the action spec (None for discrete leaves)."""
    return self._noise

  def reset_noise(self) -> None:
    """Sets every noise process back to 0 (e.g. at the start of an episode)."""
    for variable in tf.nest.flatten(self._noise):
      if variable is not None:
        variable.assign(tf.zeros_like(variable))

  def _action(self, time_step, policy_state, seed) -> PolicyStep:
    step = self._wrapped_policy.action(time_step, policy_state, seed)

    def add_noise(action, noise):
      if noise is None:
        return action
      increment = tf.random.normal(tf.shape(noise), stddev=self._ou_stddev, dtype=noise.dtype)
      value = noise.assign((1.0 - self._ou_damping) * noise + increment)
      return action + value  # broadcasts over the batch dims: one process for all entries

    return step._replace(action=tf.nest.map_structure(add_noise, step.action, self._noise))
