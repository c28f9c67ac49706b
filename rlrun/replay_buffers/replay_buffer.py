"""ReplayBuffer: the interface every replay buffer shares.

A buffer stores items described by `data_spec` (usually an agent's
collect_data_spec, i.e. one Trajectory step) and hands them back as samples, as a
tf.data.Dataset, or all at once.

Writing during collection needs no adapter: `buffer.add_batch` is a plain callable
taking one batched item (e.g. a Trajectory with a leading batch dimension), so it
can be passed directly in a driver's `observers` list.
"""

from typing import Any, NamedTuple, Optional

import numpy as np
import tensorflow as tf


class BufferInfo(NamedTuple):
  """Where a sample came from.

  Attributes:
    ids: the id of each sampled item (for a window, its first step).
    probabilities: the probability with which each item was drawn.
  """
  ids: Any
  probabilities: Any


def _check_optional_positive(value: Any, label: str) -> Optional[int]:
  if value is None:
    return None
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f"{label}={value!r} must be an int >= 1 or None")
  return int(value)


class ReplayBuffer(tf.Module):
  """Base class of replay buffers; subclasses fill in the underscored hooks.

  Args:
    data_spec: a spec (or nest of specs) describing one stored item.
    capacity: how many items the buffer holds; None when the subclass reports it
      itself (ReverbReplayBuffer asks its server).
    name: the tf.Module name (defaults to the class name in snake case).
  """

  def __init__(self, data_spec: Any, capacity: Optional[int], name: Optional[str] = None):
    super().__init__(name=name)
    # tf.Module would wrap a dict/list spec in a trackable DictWrapper/ListWrapper, and
    # items packed like it could then not be returned from a tf.function.
    object.__setattr__(self, "_data_spec", data_spec)
    self._capacity = _check_optional_positive(capacity, "capacity")

  @property
  def data_spec(self) -> Any:
    """The spec of one stored item."""
    return self._data_spec

  @property
  def capacity(self) -> int:
    """How many items the buffer can hold."""
    return self._capacity

  def add_batch(self, items: Any) -> Any:
    """Adds a batch of items (every leaf has a leading batch dimension)."""
    return self._add_batch(items)

  def get_next(self, sample_batch_size: Optional[int] = None, num_steps: Optional[int] = None,
               time_stacked: bool = True) -> tuple:
    """Samples one item, or a batch of them.

    Args:
      sample_batch_size: items per sample; None returns a single unbatched item.
      num_steps: consecutive steps per item; None returns single steps without a
        time dimension.
      time_stacked: with num_steps, stack the steps into a time dimension
        ([B, num_steps, ...]); False returns a tuple of num_steps items instead.

    Returns:
      (items, BufferInfo).
    """
    sample_batch_size = _check_optional_positive(sample_batch_size, "sample_batch_size")
    num_steps = _check_optional_positive(num_steps, "num_steps")
    return self._get_next(sample_batch_size, num_steps, time_stacked)

  def as_dataset(self, sample_batch_size: Optional[int] = None, num_steps: Optional[int] = None,
                 num_parallel_calls: Optional[int] = None,
                 single_deterministic_pass: bool = False) -> tf.data.Dataset:
    """A dataset of (items, BufferInfo) shaped like get_next's samples.

    Args:
      sample_batch_size: items per dataset element; None for unbatched elements.
      num_steps: consecutive steps per item; None for single steps.
      num_parallel_calls: how many samples are drawn in parallel.
      single_deterministic_pass: visit every stored item (window) exactly once, in
        order, then end; otherwise sample uniformly forever.
    """
    sample_batch_size = _check_optional_positive(sample_batch_size, "sample_batch_size")
    num_steps = _check_optional_positive(num_steps, "num_steps")
    if single_deterministic_pass:
      return self._single_deterministic_pass_dataset(sample_batch_size, num_steps,
                                                     num_parallel_calls)
    return self._as_dataset(sample_batch_size, num_steps, num_parallel_calls)

  def gather_all(self) -> Any:
    """Every stored item, shaped [rows, time, ...] in the order it was added."""
    return self._gather_all()

  def clear(self) -> Any:
    """Empties the buffer."""
    return self._clear()

  def num_frames(self) -> Any:
    """How many items are stored now."""
    return self._num_frames()

  def _check_structure(self, items: Any) -> None:
    """Raises ValueError when `items` is not shaped like data_spec as a nest."""
    try:
      tf.nest.assert_same_structure(items, self._data_spec)
    except (ValueError, TypeError) as e:
      raise ValueError(f"add_batch got items whose structure differs from data_spec "
                       f"{self._data_spec!r}: {e}") from e

  def _not_supported(self, what: str):
    return NotImplementedError(f"{type(self).__name__} does not implement {what}")

  def _add_batch(self, items: Any) -> Any:
    raise self._not_supported("add_batch")

  def _get_next(self, sample_batch_size: Optional[int], num_steps: Optional[int],
                time_stacked: bool) -> tuple:
    raise self._not_supported("get_next")

  def _as_dataset(self, sample_batch_size: Optional[int], num_steps: Optional[int],
                  num_parallel_calls: Optional[int]) -> tf.data.Dataset:
    raise self._not_supported("as_dataset")

  def _single_deterministic_pass_dataset(self, sample_batch_size: Optional[int],
                                         num_steps: Optional[int],
                                         num_parallel_calls: Optional[int]) -> tf.data.Dataset:
    raise self._not_supported("as_dataset(single_deterministic_pass=True)")

  def _gather_all(self) -> Any:
    raise self._not_supported("gather_all")

  def _clear(self) -> Any:
    raise self._not_supported("clear")

  def _num_frames(self) -> Any:
    raise self._not_supported("num_frames")
