"""GaussianPolicy: another policy's continuous actions plus Gaussian exploration noise."""

from typing import Any, Optional

import numpy as np
import tensorflow as tf

from rlrun.policies.tf_policy import TFPolicy
from rlrun.trajectories import PolicyStep


def continuous_leaves_or_raise(action_spec: Any, owner: str) -> None:
  """Raises ValueError unless `action_spec` has a continuous (float) leaf to add noise to."""
  if not any(spec.dtype.is_floating for spec in tf.nest.flatten(action_spec)):
    raise ValueError(f"{owner} adds noise to continuous actions, but action_spec "
                     f"{action_spec} has no float leaf; use EpsilonGreedyPolicy for discrete "
                     "actions")


class GaussianPolicy(TFPolicy):
  """Adds N(0, scale^2) noise to every continuous action of `wrapped_policy`.

  Discrete action leaves are returned unchanged. With `clip=True` the noisy actions
  are clipped back to the action spec's bounds.

  Args:
    wrapped_policy: the TFPolicy whose actions get noise.
    scale: the noise's standard deviation, a float or a nest matching the action spec.
    clip: clip noisy actions to the action spec's bounds.
    name: the module's name.

  Raises:
    ValueError: when the action spec has no continuous leaf, or a scale is negative.
  """

  def __init__(self, wrapped_policy: TFPolicy, scale: Any = 1.0, clip: bool = True,
               name: Optional[str] = None):
    super().__init__(wrapped_policy.time_step_spec, wrapped_policy.action_spec,
                     wrapped_policy.policy_state_spec, wrapped_policy.info_spec, clip=clip,
                     name=name)
    continuous_leaves_or_raise(self.action_spec, "GaussianPolicy")
    if not tf.nest.is_nested(scale):
      scale = tf.nest.map_structure(lambda _: scale, self.action_spec)
    tf.nest.assert_same_structure(scale, self.action_spec)
    if any(np.any(np.asarray(s) < 0) for s in tf.nest.flatten(scale)):
      raise ValueError(f"GaussianPolicy scale {scale} has a negative entry; use stddevs >= 0")
    self._scale = scale
    self._wrapped_policy = wrapped_policy

  @property
  def wrapped_policy(self) -> TFPolicy:
    return self._wrapped_policy

  def as_numpy_policy(self, greedy: bool = False) -> Optional[Any]:
    """The wrapped policy's numpy mirror, plus the same noise unless `greedy` (or None)."""
    from rlrun.policies.numpy_actor_policy import NumpyDeterministicActorPolicy
    inner = self._wrapped_policy.as_numpy_policy(greedy=True)
    if greedy or inner is None:
      return inner
    scales = tf.nest.flatten(self._scale)
    if not isinstance(inner, NumpyDeterministicActorPolicy) or len(scales) != 1:
      return None
    return inner.with_noise(scales[0])

  def _action(self, time_step, policy_state, seed) -> PolicyStep:
    step = self._wrapped_policy.action(time_step, policy_state, seed)

    def add_noise(action, spec, scale):
      if not spec.dtype.is_floating:
        return action
      return action + tf.random.normal(tf.shape(action), stddev=scale, dtype=action.dtype)

    return step._replace(action=tf.nest.map_structure(add_noise, step.action, self.action_spec,
                                                       self._scale))
