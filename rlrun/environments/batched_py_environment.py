"""BatchedPyEnvironment: several unbatched PyEnvironments stepped in-process as one batch."""

from typing import Any, List, Optional, Sequence

import numpy as np
import tree

from rlrun.environments import py_environment
from rlrun.trajectories import time_step as ts


def _same_specs(a: Any, b: Any) -> bool:
  try:
    tree.assert_same_structure(a, b)
  except (ValueError, TypeError):
    return False
  return all(x == y for x, y in zip(tree.flatten(a), tree.flatten(b)))


def _stack(nests: Sequence[Any]) -> Any:
  return tree.map_structure(lambda *xs: np.stack(xs), *nests)


class BatchedPyEnvironment(py_environment.PyEnvironment):
  """Steps a list of equal-spec environments sequentially and stacks their outputs.

  Every output gets a leading batch dimension of size `len(envs)`; actions must
  have it too. Each member auto-resets itself: after a member's LAST, its slice of
  the next step is that member's FIRST (its action ignored), independently of
  the others.

  Args:
    envs: unbatched PyEnvironments with equal observation, action and reward specs.
  """

  def __init__(self, envs: Sequence[py_environment.PyEnvironment]):
    super().__init__(handle_auto_reset=False)
    envs = list(envs)
    if not envs:
      raise ValueError("BatchedPyEnvironment needs at least one env, got an empty list")
    for i, env in enumerate(envs):
      if not isinstance(env, py_environment.PyEnvironment):
        raise TypeError(f"envs[{i}] must be a PyEnvironment, got {type(env).__name__}: {env!r}")
      if env.batched:
        raise ValueError(f"envs[{i}] is already batched (batch_size {env.batch_size}); "
                         "pass unbatched envs")
    first = envs[0]
    for i, env in enumerate(envs[1:], start=1):
      for kind in ("observation_spec", "action_spec", "reward_spec"):
        mine, theirs = getattr(env, kind)(), getattr(first, kind)()
        if not _same_specs(mine, theirs):
          raise ValueError(f"envs[{i}].{kind}() {mine!r} differs from envs[0].{kind}() "
                           f"{theirs!r}; all members need equal specs")
    self._envs: List[py_environment.PyEnvironment] = envs

  @property
  def envs(self) -> List[py_environment.PyEnvironment]:
    return list(self._envs)

  @property
  def batched(self) -> bool:
    return True

  @property
  def batch_size(self) -> int:
    return len(self._envs)

  def observation_spec(self) -> Any:
    return self._envs[0].observation_spec()

  def action_spec(self) -> Any:
    return self._envs[0].action_spec()

  def reward_spec(self) -> Any:
    return self._envs[0].reward_spec()

  def discount_spec(self) -> Any:
    return self._envs[0].discount_spec()

  def time_step_spec(self) -> ts.TimeStep:
    return self._envs[0].time_step_spec()

  def _reset(self) -> ts.TimeStep:
    return _stack([env.reset() for env in self._envs])

  def _unstack_actions(self, actions: Any) -> List[Any]:
    for leaf in tree.flatten(actions):
      shape = np.shape(leaf)
      if not shape or shape[0] != self.batch_size:
        raise ValueError(f"action leaf of shape {shape} has no leading batch dimension of "
                         f"size {self.batch_size}; pass actions shaped ({self.batch_size}, ...)")
    return [tree.map_structure(lambda a, i=i: np.asarray(a)[i], actions)
            for i in range(self.batch_size)]

  def _step(self, actions: Any) -> ts.TimeStep:
    per_env = self._unstack_actions(actions)
    return _stack([env.step(action) for env, action in zip(self._envs, per_env)])

  def render(self, mode: str = "rgb_array") -> Optional[np.ndarray]:
    """Member 0's frame."""
    return self._envs[0].render(mode)

  def seed(self, seed: Optional[int]) -> None:
    """Seeds member i with `seed + i` (or all with None)."""
    for i, env in enumerate(self._envs):
      env.seed(None if seed is None else int(seed) + i)

  def get_info(self) -> List[Any]:
    return [env.get_info() for env in self._envs]

  def close(self) -> None:
    for env in self._envs:
      env.close()
