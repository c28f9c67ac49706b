"""The pixel preprocessing of Atari frames, in numpy: max-pooling, area resizing, frame stacks.

Kept apart from the emulator so tests can feed hand-made frames.
"""

from typing import Tuple

import numpy as np


def area_weights(size_in: int, size_out: int) -> np.ndarray:
  """[size_out, size_in] weights averaging each output cell's share of the input cells.

  Output cell i covers input interval [i * r, (i + 1) * r) with r = size_in / size_out;
  each input cell contributes the length of its overlap with it, divided by r (the
  area interpolation of image libraries, for any ratio).
  """
  ratio = size_in / size_out
  weights = np.zeros((size_out, size_in), np.float64)
  for i in range(size_out):
    start, end = i * ratio, (i + 1) * ratio
    for j in range(int(np.floor(start)), min(int(np.ceil(end)), size_in)):
      weights[i, j] = min(end, j + 1) - max(start, j)
  return (weights / ratio).astype(np.float32)


class AreaResize:
  """Resizes [H, W] uint8 frames to `size` by area averaging (two small matrix products)."""

  def __init__(self, shape_in: Tuple[int, int], size: Tuple[int, int]):
    self._rows = area_weights(shape_in[0], size[0])
    self._cols = area_weights(shape_in[1], size[1]).T.copy()

  def __call__(self, frame: np.ndarray) -> np.ndarray:
    resized = self._rows @ frame.astype(np.float32) @ self._cols
    return np.clip(np.rint(resized), 0, 255).astype(np.uint8)


class FrameStack:
  """The last `depth` frames, oldest first, on the first axis ([depth, H, W]); zeros before
  an episode's first frame.

  Frames first, not channels last: a replay that stores each frame once rebuilds a stack
  by copying whole frames (see replay_buffers/frame_stacking.py), ~20x faster than
  interleaving them byte by byte; the network transposes the few stacks it reads
  (networks.QNetwork.channels_first).
  """

  def __init__(self, frame_shape: Tuple[int, int], depth: int):
    if depth < 1:
      raise ValueError(f"frame_stack must be >= 1, got {depth}")
    self._frames = np.zeros((depth,) + tuple(frame_shape), np.uint8)

  def reset(self, frame: np.ndarray) -> np.ndarray:
    self._frames.fill(0)
    return self.push(frame)

  def push(self, frame: np.ndarray) -> np.ndarray:
    """Drops the oldest frame, appends `frame`; returns a copy of the stack."""
    self._frames[:-1] = self._frames[1:]
    self._frames[-1] = frame
    return self._frames.copy()
