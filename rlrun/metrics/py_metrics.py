"""Numpy step metrics: observers that summarise the trajectories a PyDriver emits.

Each metric is called with one Trajectory per driver step, unbatched (scalar
step_type) or batched (a leading batch dim). Per-episode metrics keep one
accumulator per batch entry; an entry's accumulator restarts on its FIRST step
and an episode is recorded when its LAST time step arrives (traj.is_last()).
Boundary trajectories (LAST -> FIRST) are not steps and add nothing.
"""

import collections
from typing import Any, Dict, Optional

import numpy as np

from rlrun.trajectories import trajectory as traj_lib

# StepType values as plain ints, for the unbatched fast paths.
_FIRST, _LAST = int(traj_lib.StepType.FIRST), int(traj_lib.StepType.LAST)


def _check_buffer_size(buffer_size: int) -> int:
  if isinstance(buffer_size, bool) or not isinstance(buffer_size, (int, np.integer)) \
      or buffer_size < 1:
    raise ValueError(f"buffer_size={buffer_size!r} must be an int >= 1.")
  return int(buffer_size)


def _flat(value: Any, label: str) -> np.ndarray:
  """`value` as a 1-D array over the batch (an unbatched scalar becomes [value])."""
  array = np.asarray(value)
  if array.ndim > 1:
    raise ValueError(f"trajectory {label} has shape {array.shape}; metrics take unbatched or "
                     "[batch] trajectories, not [batch, time] ones: feed them step by step.")
  return array.reshape(-1)


class PyStepMetric:
  """Base class: a callable observer of trajectories that can be checkpointed.

  Subclasses implement `_observe(trajectory)`, `result()`, `reset()` and the pair
  `_state()` / `_load_state(state)` (JSON-serialisable dicts).
  """

  def __init__(self, name: Optional[str] = None):
    self._name = name or type(self).__name__

  @property
  def name(self) -> str:
    return self._name

  def __call__(self, trajectory: traj_lib.Trajectory) -> None:
    if not isinstance(trajectory, traj_lib.Trajectory):
      raise TypeError(f"metric {self.name} takes a Trajectory, got {type(trajectory).__name__}; "
                      "add it to PyDriver observers, not transition_observers.")
    self._observe(trajectory)

  def _observe(self, trajectory: traj_lib.Trajectory) -> None:
    raise NotImplementedError

  def result(self) -> Any:
    raise NotImplementedError

  def reset(self) -> None:
    raise NotImplementedError

  def get_state(self) -> Dict[str, Any]:
    """The metric's full state as a JSON-serialisable dict (for checkpoints)."""
    return {"class": type(self).__name__, "name": self.name, **self._state()}

  def set_state(self, state: Dict[str, Any]) -> None:
    """Restores a state produced by get_state() of the same metric class."""
    if not isinstance(state, dict):
      raise TypeError(f"set_state takes the dict from get_state(), got {type(state).__name__}.")
    if state.get("class") != type(self).__name__:
      raise ValueError(f"state of class {state.get('class')!r} cannot be loaded into "
                       f"{type(self).__name__} {self.name!r}; restore each metric from its own "
                       "get_state().")
    missing = [k for k in self._state() if k not in state]
    if missing:
      raise ValueError(f"state for {self.name!r} lacks keys {missing}; it was not produced by "
                       f"{type(self).__name__}.get_state().")
    self._load_state(state)

  def _state(self) -> Dict[str, Any]:
    raise NotImplementedError

  def _load_state(self, state: Dict[str, Any]) -> None:
    raise NotImplementedError

  def __repr__(self) -> str:
    return f"{type(self).__name__}(name={self.name!r}, result={self.result()!r})"


class _EpisodeStatMetric(PyStepMetric):
  """Accumulates a per-episode statistic per batch entry; keeps the last buffer_size."""

  def __init__(self, name: Optional[str] = None, buffer_size: int = 10,
               batch_size: Optional[int] = None):
    super().__init__(name)
    self._buffer_size = _check_buffer_size(buffer_size)
    if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1
                                   or not isinstance(batch_size, (int, np.integer))):
      raise ValueError(f"batch_size={batch_size!r} must be an int >= 1, or None to take it "
                       "from the first trajectory.")
    self._batch_size = None if batch_size is None else int(batch_size)
    self.reset()

  def reset(self) -> None:
    self._buffer = collections.deque(maxlen=self._buffer_size)
    self._accumulator = (None if self._batch_size is None
                         else np.zeros(self._batch_size, np.float64))

  def _increment(self, trajectory: traj_lib.Trajectory, counts: np.ndarray) -> np.ndarray:
    """What a non-boundary step adds to each entry's accumulator."""
    raise NotImplementedError

  def _scalar_increment(self, trajectory: traj_lib.Trajectory) -> Optional[float]:
    """What a non-boundary unbatched step adds; None sends it the batched way (checks)."""
    return None

  def _observe(self, trajectory: traj_lib.Trajectory) -> None:
    step_types = traj_lib.scalar_step_types(trajectory)
    if step_types is not None and (self._accumulator is None or
                                   self._accumulator.shape[0] == 1):
      increment = self._scalar_increment(trajectory)
      if increment is not None:
        self._observe_scalar(*step_types, increment)
        return
    is_first = _flat(trajectory.is_first(), "step_type")
    if self._accumulator is None:
      self._accumulator = np.zeros(is_first.shape[0], np.float64)
    if is_first.shape[0] != self._accumulator.shape[0]:
      raise ValueError(f"metric {self.name!r} tracks a batch of {self._accumulator.shape[0]} but "
                       f"got a trajectory with batch {is_first.shape[0]}; use one metric per "
                       "environment (or reset() it).")
    counts = ~_flat(trajectory.is_boundary(), "step_type")
    self._accumulator[is_first] = 0.0
    self._accumulator += np.where(counts, self._increment(trajectory, counts), 0.0)
    is_last = _flat(trajectory.is_last(), "next_step_type")
    self._buffer.extend(float(v) for v in self._accumulator[is_last])
    self._accumulator[is_last] = 0.0

  def _observe_scalar(self, step_type: int, next_step_type: int, increment: float) -> None:
    """_observe for one unbatched step, in Python floats (the same float64 arithmetic)."""
    if self._accumulator is None:
      self._accumulator = np.zeros(1, np.float64)
    total = 0.0 if step_type == _FIRST else float(self._accumulator[0])
    if step_type != _LAST:
      total += increment
    if next_step_type == _LAST:
      self._buffer.append(total)
      total = 0.0
    self._accumulator[0] = total

  def _state(self) -> Dict[str, Any]:
    return {"buffer": list(self._buffer), "buffer_size": self._buffer_size,
            "accumulator": None if self._accumulator is None else self._accumulator.tolist()}

  def _load_state(self, state: Dict[str, Any]) -> None:
    self._buffer_size = _check_buffer_size(state["buffer_size"])
    self._buffer = collections.deque((float(v) for v in state["buffer"]),
                                     maxlen=self._buffer_size)
    acc = state["accumulator"]
    acc = None if acc is None else np.asarray(acc, np.float64).reshape(-1)
    if acc is not None and self._batch_size is not None and acc.shape[0] != self._batch_size:
      raise ValueError(f"state for {self.name!r} has {acc.shape[0]} accumulators but the metric "
                       f"was built with batch_size={self._batch_size}; build it with "
                       f"batch_size={acc.shape[0]} or None.")
    self._accumulator = acc


class AverageReturnMetric(_EpisodeStatMetric):
  """Mean undiscounted return of the last `buffer_size` completed episodes (0.0 before any)."""

  def __init__(self, buffer_size: int = 10, batch_size: Optional[int] = None,
               name: str = "AverageReturn"):
    super().__init__(name, buffer_size, batch_size)

  def _increment(self, trajectory: traj_lib.Trajectory, counts: np.ndarray) -> np.ndarray:
    reward = _flat(trajectory.reward, "reward").astype(np.float64)
    if reward.shape != counts.shape:
      raise ValueError(f"metric {self.name!r} needs one scalar reward per batch entry; got reward "
                       f"shape {np.shape(trajectory.reward)} for step_type shape "
                       f"{np.shape(trajectory.step_type)}.")
    return reward

  def _scalar_increment(self, trajectory: traj_lib.Trajectory) -> Optional[float]:
    reward = trajectory.reward
    if isinstance(reward, (np.ndarray, np.generic)) and reward.ndim == 0:
      return float(reward)
    return None

  def result(self) -> float:
    return float(np.mean(self._buffer)) if self._buffer else 0.0


class MaxReturnMetric(AverageReturnMetric):
  """Largest undiscounted return among the last `buffer_size` episodes (0.0 before any)."""

  def __init__(self, buffer_size: int = 10, batch_size: Optional[int] = None,
               name: str = "MaxReturn"):
    super().__init__(buffer_size, batch_size, name)

  def result(self) -> float:
    return float(np.max(self._buffer)) if self._buffer else 0.0


class AverageEpisodeLengthMetric(_EpisodeStatMetric):
  """Mean length (non-boundary steps) of the last `buffer_size` episodes (0.0 before any)."""

  def __init__(self, buffer_size: int = 10, batch_size: Optional[int] = None,
               name: str = "AverageEpisodeLength"):
    super().__init__(name, buffer_size, batch_size)

  def _increment(self, trajectory: traj_lib.Trajectory, counts: np.ndarray) -> np.ndarray:
    return np.ones(counts.shape, np.float64)

  def _scalar_increment(self, trajectory: traj_lib.Trajectory) -> Optional[float]:
    return 1.0

  def result(self) -> float:
    return float(np.mean(self._buffer)) if self._buffer else 0.0


class _CounterMetric(PyStepMetric):
  """A running integer count over all trajectories seen."""

  def __init__(self, name: Optional[str] = None):
    super().__init__(name)
    self._count = 0

  def _delta(self, trajectory: traj_lib.Trajectory) -> int:
    raise NotImplementedError

  def _observe(self, trajectory: traj_lib.Trajectory) -> None:
    self._count += self._delta(trajectory)

  def result(self) -> int:
    return self._count

  def reset(self) -> None:
    self._count = 0

  def _state(self) -> Dict[str, Any]:
    return {"count": self._count}

  def _load_state(self, state: Dict[str, Any]) -> None:
    self._count = int(state["count"])


class NumberOfEpisodes(_CounterMetric):
  """How many episodes ended (trajectories whose next step is LAST), summed over the batch."""

  def __init__(self, name: str = "NumberOfEpisodes"):
    super().__init__(name)

  def _delta(self, trajectory: traj_lib.Trajectory) -> int:
    step_types = traj_lib.scalar_step_types(trajectory)
    if step_types is not None:
      return int(step_types[1] == _LAST)
    return int(np.sum(trajectory.is_last()))


class EnvironmentSteps(_CounterMetric):
  """How many environment steps ran (boundary trajectories excluded), summed over the batch."""

  def __init__(self, name: str = "EnvironmentSteps"):
    super().__init__(name)

  def _delta(self, trajectory: traj_lib.Trajectory) -> int:
    step_types = traj_lib.scalar_step_types(trajectory)
    if step_types is not None:
      return int(step_types[0] != _LAST)
    return int(np.sum(~np.asarray(trajectory.is_boundary())))
