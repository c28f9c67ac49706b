"""A spec-built fake PyEnvironment for testing wrappers and adapters without gym."""

from typing import Any, List, Optional

import numpy as np
import pytest

from rlrun.environments import py_environment
from rlrun.specs import array_spec
from rlrun.trajectories import time_step as ts


class FakeEnv(py_environment.PyEnvironment):
  """Fixed-length episodes that end in a termination (discount 0).

  The observation is [step in episode, total steps taken, id]; the reward of the
  k-th step of an episode is k. It records the actions it received, its resets,
  its seed and whether it was closed.
  """

  def __init__(self, episode_length: int = 3, continuous: bool = False, env_id: int = 0,
               obs_max: float = 100.0):
    super().__init__()
    self.episode_length = episode_length
    self.env_id = env_id
    self.actions: List[Any] = []
    self.num_resets = 0
    self.seed_value: Optional[int] = None
    self.closed = False
    self._episode_step = 0
    self._total_steps = 0
    self._observation_spec = array_spec.BoundedArraySpec((3,), np.float32, 0.0, obs_max,
                                                         name="observation")
    if continuous:
      self._action_spec = array_spec.BoundedArraySpec((2,), np.float32, -1.0, 1.0, name="action")
    else:
      self._action_spec = array_spec.BoundedArraySpec((), np.int64, 0, 1, name="action")

  def observation_spec(self):
    return self._observation_spec

  def action_spec(self):
    return self._action_spec

  def _observation(self) -> np.ndarray:
    return np.array([self._episode_step, self._total_steps, self.env_id], np.float32)

  def _reset(self) -> ts.TimeStep:
    self.num_resets += 1
    self._episode_step = 0
    return ts.restart(self._observation())

  def _step(self, action) -> ts.TimeStep:
    self.actions.append(np.array(action, copy=True))
    self._episode_step += 1
    self._total_steps += 1
    reward = float(self._episode_step)
    if self._episode_step >= self.episode_length:
      return ts.termination(self._observation(), reward)
    return ts.transition(self._observation(), reward)

  def render(self, mode: str = "rgb_array") -> np.ndarray:
    return np.full((2, 2, 3), self.env_id, np.uint8)

  def seed(self, seed: Optional[int]) -> None:
    self.seed_value = seed

  def get_info(self) -> Any:
    return {"env_id": self.env_id}

  def close(self) -> None:
    self.closed = True


@pytest.fixture
def make_fake_env():
  """The FakeEnv class, as a factory: make_fake_env(episode_length=3, ...)."""
  return FakeEnv
