"""PyEnvironment: the numpy environment interface every rlrun environment implements."""

import abc
from typing import Any, Optional

import numpy as np

from rlrun.specs import array_spec
from rlrun.trajectories import time_step as ts


class PyEnvironment(abc.ABC):
  """An environment that exchanges numpy arrays.

  `step()` after a LAST time step (or before any reset) starts a new episode and
  ignores the action: the result is a FIRST time step. This is what makes a stream
  of trajectories contain boundary steps (LAST -> FIRST) that learners mask out.

  Subclasses implement `observation_spec`, `action_spec`, `_reset` and `_step`.
  A batched environment sets `batched` / `batch_size` and handles resets per member.
  """

  def __init__(self, handle_auto_reset: bool = True):
    self._handle_auto_reset = handle_auto_reset
    self._current_time_step: Optional[ts.TimeStep] = None

  @property
  def batched(self) -> bool:
    return False

  @property
  def batch_size(self) -> Optional[int]:
    return None

  @abc.abstractmethod
  def observation_spec(self) -> Any:
    """The nest of ArraySpecs of an observation."""

  @abc.abstractmethod
  def action_spec(self) -> Any:
    """The nest of (Bounded)ArraySpecs of an action."""

  def reward_spec(self) -> array_spec.ArraySpec:
    return array_spec.ArraySpec((), np.float32, name="reward")

  def discount_spec(self) -> array_spec.BoundedArraySpec:
    return array_spec.BoundedArraySpec((), np.float32, 0.0, 1.0, name="discount")

  def time_step_spec(self) -> ts.TimeStep:
    return ts.time_step_spec(self.observation_spec(), self.reward_spec())

  def current_time_step(self) -> ts.TimeStep:
    if self._current_time_step is None:
      self._current_time_step = self.reset()
    return self._current_time_step

  def reset(self) -> ts.TimeStep:
    """Starts a new episode and returns its FIRST time step."""
    self._current_time_step = self._reset()
    return self._current_time_step

  def step(self, action: Any) -> ts.TimeStep:
    """Applies `action`; after a LAST step (or before any) this resets instead."""
    if self._handle_auto_reset and (
        self._current_time_step is None or ts.all_true(self._current_time_step.is_last())):
      return self.reset()
    self._current_time_step = self._step(action)
    return self._current_time_step

  @abc.abstractmethod
  def _reset(self) -> ts.TimeStep:
    """Resets the underlying environment."""

  @abc.abstractmethod
  def _step(self, action: Any) -> ts.TimeStep:
    """Steps the underlying environment."""

  def render(self, mode: str = "rgb_array") -> Optional[np.ndarray]:
    raise NotImplementedError(f"{type(self).__name__} does not render")

  def seed(self, seed: Optional[int]) -> None:
    """Seeds the environment's randomness (a no-op where there is none)."""

  def get_info(self) -> Any:
    return None

  def close(self) -> None:
    """Releases resources (processes, windows)."""

  def __enter__(self) -> "PyEnvironment":
    return self

  def __exit__(self, *exc) -> None:
    self.close()
