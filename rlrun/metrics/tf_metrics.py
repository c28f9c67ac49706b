"""TensorFlow step metrics: observers that a TF driver can call inside tf.while_loop.

Every metric is a tf.Module holding tf.Variables. Calling it with a Trajectory
(of tensors or numpy arrays, unbatched or with a leading batch dim) updates the
variables and returns the trajectory unchanged, so observers can be chained.
The counting rules are those of py_metrics: boundary trajectories (LAST -> FIRST)
are not steps; an episode ends when its LAST time step arrives (traj.is_last());
per-episode accumulators are kept per batch entry and restart on FIRST.
"""

from typing import Any

import numpy as np
import tensorflow as tf

from rlrun.trajectories import time_step as ts, trajectory as traj_lib


def _check_positive_int(value: Any, label: str) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f"{label}={value!r} must be an int >= 1.")
  return int(value)


def _flat_field(value: Any, label: str) -> tf.Tensor:
  """A trajectory field as a 1-D tensor over the batch (an unbatched scalar becomes [x])."""
  tensor = tf.convert_to_tensor(value)
  if tensor.shape.rank is not None and tensor.shape.rank > 1:
    raise ValueError(f"trajectory {label} has shape {tensor.shape}; TF metrics take unbatched "
                     "or [batch] trajectories, not [batch, time] ones: feed them step by step.")
  return tf.reshape(tensor, [-1])


def _step_flags(trajectory: traj_lib.Trajectory):
  """(is_first, is_last, is_step) of every batch entry, as 1-D bool tensors."""
  step_type = _flat_field(trajectory.step_type, "step_type")
  next_step_type = _flat_field(trajectory.next_step_type, "next_step_type")
  is_first = tf.equal(step_type, tf.constant(ts.StepType.FIRST, step_type.dtype))
  is_boundary = tf.equal(step_type, tf.constant(ts.StepType.LAST, step_type.dtype))
  is_last = tf.equal(next_step_type, tf.constant(ts.StepType.LAST, next_step_type.dtype))
  return is_first, is_last, tf.logical_not(is_boundary)


class TFStepMetric(tf.Module):
  """Base class: `metric(trajectory)` updates the state and returns `trajectory`.

  Subclasses implement `_observe(trajectory)`, `result()` and `reset()`; their
  variables must be created in __init__ (never while a driver traces its loop).
  """

  def __init__(self, name: str):
    super().__init__(name=name)

  def __call__(self, trajectory: traj_lib.Trajectory) -> traj_lib.Trajectory:
    if not isinstance(trajectory, traj_lib.Trajectory):
      raise TypeError(f"metric {self.name} takes a Trajectory, got {type(trajectory).__name__}; "
                      "add it to the driver's observers, not transition_observers.")
    self._observe(trajectory)
    return trajectory

  def _observe(self, trajectory: traj_lib.Trajectory) -> None:
    raise NotImplementedError

  def result(self) -> tf.Tensor:
    raise NotImplementedError

  def reset(self) -> None:
    raise NotImplementedError

  def __repr__(self) -> str:
    result = self.result().numpy() if tf.executing_eagerly() else "<graph>"
    return f"{type(self).__name__}(name={self.name!r}, result={result!r})"


class _EpisodeStatMetric(TFStepMetric):
  """Sums a per-step value per batch entry; keeps the last `buffer_size` episode totals.

  The totals live in a ring buffer variable; `_num_episodes` counts every episode
  ever recorded, so (count % buffer_size) is the next slot to write and
  min(count, buffer_size) the number of valid slots.
  """

  def __init__(self, name: str, batch_size: int, buffer_size: int):
    super().__init__(name)
    self._batch_size = _check_positive_int(batch_size, "batch_size")
    self._buffer_size = _check_positive_int(buffer_size, "buffer_size")
    self._accumulator = tf.Variable(tf.zeros([self._batch_size], tf.float32), trainable=False,
                                    name="accumulator")
    self._buffer = tf.Variable(tf.zeros([self._buffer_size], tf.float32), trainable=False,
                               name="buffer")
    self._num_episodes = tf.Variable(tf.constant(0, tf.int64), trainable=False,
                                     name="num_episodes")

  @property
  def batch_size(self) -> int:
    return self._batch_size

  @property
  def buffer_size(self) -> int:
    return self._buffer_size

  def _values(self, trajectory: traj_lib.Trajectory) -> tf.Tensor:
    """What each batch entry's (non-boundary) step adds to its accumulator, [batch] float32."""
    raise NotImplementedError

  def _observe(self, trajectory: traj_lib.Trajectory) -> None:
    is_first, is_last, is_step = _step_flags(trajectory)
    size = is_first.shape[0]
    if size is not None and size != self._batch_size:
      raise ValueError(f"metric {self.name!r} was built with batch_size={self._batch_size} but "
                       f"got a trajectory with batch {size}; build it with "
                       f"batch_size={size} (the env's batch_size).")
    values = self._values(trajectory)
    zeros = tf.zeros_like(values)
    accumulator = tf.where(is_first, zeros, self._accumulator)
    accumulator += tf.where(is_step, values, zeros)
    self._record(tf.boolean_mask(accumulator, is_last))
    self._accumulator.assign(tf.where(is_last, zeros, accumulator))

  def _record(self, totals: tf.Tensor) -> None:
    """Writes the 1-D `totals` of just-finished episodes into the ring buffer."""
    count = tf.size(totals, out_type=tf.int64)
    # More finished episodes than slots: only the newest buffer_size survive, and
    # writing the older ones too would give scatter duplicate indices (undefined order).
    skip = tf.maximum(count - self._buffer_size, 0)
    kept = totals[skip:]
    slots = (self._num_episodes + skip + tf.range(tf.size(kept, out_type=tf.int64))) \
        % self._buffer_size
    self._buffer.scatter_nd_update(slots[:, None], kept)
    self._num_episodes.assign_add(count)

  def result(self) -> tf.Tensor:
    """Mean over the stored episodes (unused slots are 0); 0.0 before any episode."""
    filled = tf.minimum(self._num_episodes, self._buffer_size)
    return tf.math.divide_no_nan(tf.reduce_sum(self._buffer), tf.cast(filled, tf.float32))

  def reset(self) -> None:
    self._accumulator.assign(tf.zeros_like(self._accumulator))
    self._buffer.assign(tf.zeros_like(self._buffer))
    self._num_episodes.assign(0)


class AverageReturnMetric(_EpisodeStatMetric):
  """Mean undiscounted return of the last `buffer_size` completed episodes (0.0 before any).

  Args:
    batch_size: the env's batch size (one accumulator per entry).
    buffer_size: how many recent episodes are averaged.
    name: the module's name.
  """

  def __init__(self, batch_size: int = 1, buffer_size: int = 10, name: str = "AverageReturn"):
    super().__init__(name, batch_size, buffer_size)

  def _values(self, trajectory: traj_lib.Trajectory) -> tf.Tensor:
    reward = tf.convert_to_tensor(trajectory.reward)
    step_type = tf.convert_to_tensor(trajectory.step_type)
    if reward.shape.rank is not None and reward.shape.rank != step_type.shape.rank:
      raise ValueError(f"metric {self.name!r} needs one scalar reward per batch entry; got "
                       f"reward shape {reward.shape} for step_type shape {step_type.shape}.")
    return tf.cast(tf.reshape(reward, [-1]), tf.float32)


class AverageEpisodeLengthMetric(_EpisodeStatMetric):
  """Mean length (non-boundary steps) of the last `buffer_size` episodes (0.0 before any).

  Args:
    batch_size: the env's batch size (one accumulator per entry).
    buffer_size: how many recent episodes are averaged.
    name: the module's name.
  """

  def __init__(self, batch_size: int = 1, buffer_size: int = 10,
               name: str = "AverageEpisodeLength"):
    super().__init__(name, batch_size, buffer_size)

  def _values(self, trajectory: traj_lib.Trajectory) -> tf.Tensor:
    step_type = _flat_field(trajectory.step_type, "step_type")
    return tf.ones(tf.shape(step_type), tf.float32)


class _CounterMetric(TFStepMetric):
  """A running int64 count over all trajectories seen."""

  def __init__(self, name: str):
    super().__init__(name)
    self._count = tf.Variable(tf.constant(0, tf.int64), trainable=False, name="count")

  def _delta(self, trajectory: traj_lib.Trajectory) -> tf.Tensor:
    raise NotImplementedError

  def _observe(self, trajectory: traj_lib.Trajectory) -> None:
    self._count.assign_add(self._delta(trajectory))

  def result(self) -> tf.Tensor:
    return tf.identity(self._count)

  def reset(self) -> None:
    self._count.assign(0)


class NumberOfEpisodes(_CounterMetric):
  """How many episodes ended (trajectories whose next step is LAST), summed over the batch."""

  def __init__(self, name: str = "NumberOfEpisodes"):
    super().__init__(name)

  def _delta(self, trajectory: traj_lib.Trajectory) -> tf.Tensor:
    _, is_last, _ = _step_flags(trajectory)
    return tf.reduce_sum(tf.cast(is_last, tf.int64))


class EnvironmentSteps(_CounterMetric):
  """How many environment steps ran (boundary trajectories excluded), summed over the batch."""

  def __init__(self, name: str = "EnvironmentSteps"):
    super().__init__(name)

  def _delta(self, trajectory: traj_lib.Trajectory) -> tf.Tensor:
    _, _, is_step = _step_flags(trajectory)
    return tf.reduce_sum(tf.cast(is_step, tf.int64))
