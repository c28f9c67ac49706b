"""Replay that stores each frame of stacked-frame observations once.

An Atari observation is the last 4 frames ([4, 84, 84], oldest first); writing it per step
stores every frame 4 times. Instead the writer keeps only each step's newest frame and pads
the start of
every episode with `depth - 1` blank steps, and replay items span `depth - 1` more steps
than the agent trains on. Reverb stores a step once however many items overlap it, so a
transition costs about one frame. Sampling rebuilds each observation from `depth`
consecutive frames of the item (the blanks are the zeros the environment stacks before
an episode's first frame) and drops the extra steps from every other field.
"""

from typing import Any

import numpy as np
import tensorflow as tf
import tree

from rlrun.specs import tensor_spec
from rlrun.trajectories.time_step import StepType


class FrameStacking:
  """The stored form of stacked-frame Trajectories and the way back.

  Args:
    data_spec: the agent's collect_data_spec; its observation is one array whose first
      axis holds `depth` frames, oldest first.
    depth: frames per observation.

  Raises:
    ValueError: (one line) when the observation is not such an array.
  """

  def __init__(self, data_spec: Any, depth: int):
    if depth < 2:
      raise ValueError(f"frame stacking needs frame_stack >= 2, got {depth}")
    data_spec = tensor_spec.from_spec(data_spec)
    observation = data_spec.observation
    shape = getattr(observation, "shape", None)
    if not isinstance(observation, tf.TensorSpec) or shape.rank is None or shape.rank < 1 or \
        shape[0] != depth:
      raise ValueError(f"frame_stack = {depth} needs an observation whose first axis holds "
                       f"{depth} frames, got {observation}; set the builder's frame_stack to "
                       "its depth, or 1")
    self.depth = depth
    self.data_spec = data_spec
    self._rank = shape.rank
    frame = tf.TensorSpec(tf.TensorShape([1]).concatenate(shape[1:]), observation.dtype,
                          observation.name)
    self.stored_spec = data_spec._replace(observation=frame)

  def stored_length(self, sequence_length: int) -> int:
    """Steps per stored item for items of `sequence_length` steps."""
    return sequence_length + self.depth - 1

  def writer(self, observer) -> "FrameWriter":
    return FrameWriter(observer, self.depth, self._rank)

  def unstack(self, stored: Any) -> Any:
    """Stored items [..., L + depth - 1, ...] -> Trajectories [..., L, ...] (TF or numpy).

    Observation t of an item is frames t .. t + depth - 1, joined on the frame axis:
    whole-frame copies.
    """
    frames, extra = stored.observation, self.depth - 1
    axis = len(frames.shape) - self._rank - 1  # the time axis
    length = frames.shape[axis] - extra
    take = lambda x, start, size: x[(slice(None),) * axis + (slice(start, start + size),)]
    parts = [take(frames, i, length) for i in range(self.depth)]
    concat = tf.concat if isinstance(frames, tf.Tensor) else np.concatenate
    observation = concat(parts, axis + 1)
    rest = tree.map_structure(lambda x: take(x, extra, length), stored._replace(observation=()))
    return rest._replace(observation=observation)


class FrameWriter:
  """An observer writing each step's newest frame through `observer` (see FrameStacking).

  `observer` (rlrun's Reverb writer or LocalReplay) counts the steps of the episode it
  is writing (`steps_in_episode`) and ends an episode on a boundary step; this one puts
  `depth - 1` blank steps before every episode's first. It keeps no state of its own,
  so a call that raised (e.g. a WriteTimeout) can be made again, and a restored
  LocalReplay mid-episode goes on without blanks (when the environment's state was
  restored with it; otherwise the run resets the writer). Other attributes are
  `observer`'s.
  """

  def __init__(self, observer, depth: int, rank: int):
    self._observer = observer
    self._depth = depth
    self._rank = rank  # of one observation; the frame axis is its first

  @property
  def observer(self):
    return self._observer

  def __getattr__(self, name: str) -> Any:
    return getattr(self.__dict__["_observer"], name)

  def __call__(self, trajectory) -> None:
    observation = trajectory.observation
    outer = np.ndim(observation) - self._rank
    frame = observation[(slice(None),) * outer + (slice(-1, None),)]
    if self._observer.steps_in_episode < self._depth - 1:
      # Blanks are mid-episode steps (never a boundary, which would end the episode
      # they pad); only their frame is ever read back.
      mid = np.full_like(trajectory.step_type, StepType.MID)
      blank = trajectory._replace(observation=np.zeros_like(frame), step_type=mid,
                                  next_step_type=mid)
      while self._observer.steps_in_episode < self._depth - 1:
        self._observer(blank)
    self._observer(trajectory._replace(observation=frame))
