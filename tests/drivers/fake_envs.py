"""Tiny deterministic environments whose step counts and returns are hand-computable.

Every non-FIRST time step gives reward 1, so an episode's return equals its length.
The observation is the step index within the episode.
"""

from typing import List, Sequence

import numpy as np

from rlrun.environments import py_environment
from rlrun.specs import array_spec
from rlrun.trajectories import time_step as ts

OBS_SPEC = array_spec.ArraySpec((1,), np.float32, "t")
ACTION_SPEC = array_spec.BoundedArraySpec((), np.int32, 0, 1, "action")


class CountingEnv(py_environment.PyEnvironment):
  """Unbatched: episodes last episode_lengths[0], [1], ... steps (cycled)."""

  def __init__(self, episode_lengths: Sequence[int] = (3,)):
    super().__init__()
    self._lengths = list(episode_lengths)
    self._episode = -1
    self._t = 0
    self.actions: List[int] = []  # the actions _step() actually applied
    self.num_resets = 0

  def observation_spec(self):
    return OBS_SPEC

  def action_spec(self):
    return ACTION_SPEC

  def _obs(self) -> np.ndarray:
    return np.array([self._t], np.float32)

  def _reset(self) -> ts.TimeStep:
    self._episode += 1
    self._t = 0
    self.num_resets += 1
    return ts.restart(self._obs())

  def _step(self, action) -> ts.TimeStep:
    self.actions.append(int(action))
    self._t += 1
    if self._t >= self._lengths[self._episode % len(self._lengths)]:
      return ts.termination(self._obs(), 1.0)
    return ts.transition(self._obs(), 1.0)


class BatchedCountingEnv(py_environment.PyEnvironment):
  """Batched: entry i runs episodes of episode_lengths[i] steps, auto-resetting on its own."""

  def __init__(self, episode_lengths: Sequence[int] = (2, 3)):
    super().__init__(handle_auto_reset=False)
    self._lengths = np.asarray(episode_lengths, np.int64)
    self._t = np.zeros(len(self._lengths), np.int64)
    self._step_type = np.full(len(self._lengths), ts.StepType.FIRST, np.int32)
    self.action_shapes: List[tuple] = []

  @property
  def batched(self) -> bool:
    return True

  @property
  def batch_size(self) -> int:
    return len(self._lengths)

  def observation_spec(self):
    return OBS_SPEC

  def action_spec(self):
    return ACTION_SPEC

  def _time_step(self, reward: np.ndarray) -> ts.TimeStep:
    discount = np.where(self._step_type == ts.StepType.LAST, 0.0, 1.0).astype(np.float32)
    return ts.TimeStep(self._step_type.copy(), reward.astype(np.float32), discount,
                       self._t[:, None].astype(np.float32))

  def _reset(self) -> ts.TimeStep:
    self._t[:] = 0
    self._step_type[:] = ts.StepType.FIRST
    return self._time_step(np.zeros(self.batch_size))

  def _step(self, action) -> ts.TimeStep:
    self.action_shapes.append(np.shape(action))
    restarting = self._step_type == ts.StepType.LAST
    self._t = np.where(restarting, 0, self._t + 1)
    self._step_type = np.where(
        restarting, ts.StepType.FIRST,
        np.where(self._t >= self._lengths, ts.StepType.LAST, ts.StepType.MID)).astype(np.int32)
    return self._time_step(np.where(restarting, 0.0, 1.0))
