"""EpsilonGreedyPyPolicy: a numpy policy that acts uniformly at random with probability
epsilon and otherwise follows the policy it wraps (e.g. the evaluation protocol of Atari
agents, which evaluates with epsilon 0.001 rather than greedily)."""

from typing import Any, Optional

import numpy as np
import tree

from rlrun.policies import py_policy
from rlrun.specs import array_spec
from rlrun.trajectories import policy_step


_STREAM = 0x65707331  # tells this policy's stream apart from others seeded with the same number


def _generator(seed: Optional[int]) -> np.random.Generator:
  return np.random.default_rng(None if seed is None else [int(seed), _STREAM])


class EpsilonGreedyPyPolicy(py_policy.PyPolicy):
  """Each action of a batch is, with probability `epsilon`, drawn uniformly from the action
  spec instead of taken from `policy`.

  Args:
    policy: a numpy-callable policy (a PyPolicy, a numpy mirror or a loaded SavedModel).
    epsilon: the probability of a random action, in [0, 1].
    seed: seeds the policy's own np.random.Generator (None: fresh entropy), on a stream of
      its own: an environment seeded with the same number draws other numbers.
    action_spec: the nest of BoundedArraySpecs to draw from (default: policy.action_spec).

  Raises:
    ValueError: epsilon outside [0, 1].
  """

  def __init__(self, policy: Any, epsilon: float, seed: Optional[int] = None,
               action_spec: Any = None):
    if not 0.0 <= epsilon <= 1.0:
      raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
    action_spec = policy.action_spec if action_spec is None else action_spec
    super().__init__(getattr(policy, "time_step_spec", None), action_spec,
                     policy_state_spec=getattr(policy, "policy_state_spec", ()),
                     info_spec=getattr(policy, "info_spec", ()))
    self._policy = policy
    self._epsilon = float(epsilon)
    self._rng = _generator(seed)

  @property
  def wrapped_policy(self) -> Any:
    return self._policy

  @property
  def epsilon(self) -> float:
    return self._epsilon

  def seed(self, seed: int) -> None:
    """Restarts the random draws from `seed`."""
    self._rng = _generator(seed)

  def update(self) -> None:
    """Refreshes the wrapped policy's weights, when it mirrors a network."""
    if hasattr(self._policy, "update"):
      self._policy.update()

  def get_initial_state(self, batch_size: Any = None) -> Any:
    return self._policy.get_initial_state(batch_size)

  def _action(self, time_step, policy_state: Any) -> policy_step.PolicyStep:
    step = self._policy.action(time_step, policy_state)
    batch = np.shape(time_step.step_type)
    explore = self._rng.random(batch) < self._epsilon
    if not explore.any():
      return step
    random = array_spec.sample_spec_nest(self._action_spec, self._rng, outer_dims=batch)
    def choose(r, g):
      mask = explore.reshape(batch + (1,) * (np.ndim(g) - len(batch)))
      return np.where(mask, r, g).astype(np.asarray(g).dtype)
    action = tree.map_structure(choose, random, step.action)
    return step._replace(action=action)
