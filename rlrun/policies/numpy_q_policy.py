"""NumpyQPolicy: greedy / epsilon-greedy actions from a numpy mirror of a Q-network."""

from typing import Any, Optional

import numpy as np

from rlrun.networks.numpy_mirror import NumpyMirror
from rlrun.policies.py_policy import PyPolicy
from rlrun.specs import tensor_spec
from rlrun.trajectories import PolicyStep


class NumpyQPolicy(PyPolicy):
  """A PyPolicy that acts like EpsilonGreedy(Greedy(QPolicy(q_network))) in numpy.

  The weights are a snapshot: call `update()` to copy the current TF values (the
  Actor does this at the start of every run()). Epsilon schedules are evaluated at
  `update()` time too.
  """

  def __init__(self, q_policy, mirror: NumpyMirror, epsilon: Any = 0.0, seed: Optional[int] = None):
    super().__init__(tensor_spec.to_nest_array_spec(q_policy.time_step_spec),
                     tensor_spec.to_nest_array_spec(q_policy.action_spec))
    self._mirror = mirror
    # A network whose mirrored outputs are not Q-values says how to turn them into some.
    self._to_q_values = getattr(q_policy.q_network, "numpy_q_values", lambda x: x)
    self._epsilon_source = epsilon
    self._epsilon = 0.0
    self._rng = np.random.default_rng(seed)
    spec = self.action_spec
    self._offset = int(np.min(spec.minimum))
    self._num_actions = int(np.max(spec.maximum)) - self._offset + 1
    self._dtype = spec.dtype
    self.update()

  @classmethod
  def of(cls, q_policy, epsilon: Any = 0.0) -> Optional["NumpyQPolicy"]:
    mirror = NumpyMirror.of(q_policy.q_network)
    return None if mirror is None else cls(q_policy, mirror, epsilon)

  @property
  def rng(self) -> np.random.Generator:
    return self._rng

  def update(self) -> None:
    self._mirror.update()
    value = self._epsilon_source() if callable(self._epsilon_source) else self._epsilon_source
    self._epsilon = float(np.asarray(value))

  def set_weights(self, weights) -> None:
    self._mirror.set_weights(weights)

  def _action(self, time_step, policy_state) -> PolicyStep:
    observation = np.asarray(time_step.observation)
    batched = observation.ndim > len(self.time_step_spec.observation.shape)
    q_values = self._to_q_values(self._mirror(observation if batched else observation[None]))
    action = np.argmax(q_values, axis=-1)
    if self._epsilon > 0.0:
      explore = self._rng.random(action.shape) < self._epsilon
      if explore.any():
        action = np.where(explore, self._rng.integers(0, self._num_actions, action.shape), action)
    action = (action + self._offset).astype(self._dtype)
    return PolicyStep(action if batched else action[0], policy_state, ())
