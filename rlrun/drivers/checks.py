"""Argument checks shared by the drivers (numpy only: PyDriver runs without TensorFlow)."""

from typing import Any, Callable, List, Optional, Sequence

import numpy as np


def check_count(value: Any, label: str) -> int:
  """`value` as an int >= 1, or a ValueError naming it."""
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f"{label}={value!r} must be an int >= 1.")
  return int(value)


def check_limit(value: Optional[int], label: str) -> Optional[int]:
  """Like check_count, but None (no limit) is allowed."""
  return None if value is None else check_count(value, label)


def check_callables(observers: Optional[Sequence[Callable]], label: str) -> List[Callable]:
  """The observers as a list, or a TypeError naming the first one that is not callable."""
  observers = list(observers or [])
  for i, observer in enumerate(observers):
    if not callable(observer):
      raise TypeError(f"{label}[{i}] = {observer!r} is not callable; pass functions or objects "
                      "with __call__ (e.g. a metric, a replay buffer's add_batch).")
  return observers
