"""PyUniformReplayBuffer: a numpy ring buffer of items, sampled uniformly.

It holds a single sequence of `capacity` items. add_batch appends the rows of its
batch one after another, so a window of num_steps consecutive items is a time
sequence only when one environment writes (a batch of 1 per call); use
TFUniformReplayBuffer, which keeps one row per environment, for batched
environments. gather_all therefore returns [1, T, ...]: one row.

Items are identified by their position in the stream of added items since the
last clear(); BufferInfo.ids holds the id of each sample's first item. Samples are
numpy arrays; as_dataset wraps sampling in tf.data.Dataset.from_generator.
"""

import threading
from typing import Any, List, Optional

import numpy as np
import tensorflow as tf

from rlrun.replay_buffers.replay_buffer import BufferInfo, ReplayBuffer
from rlrun.specs import tensor_spec


class PyUniformReplayBuffer(ReplayBuffer):
  """A numpy replay buffer that samples windows of consecutive items uniformly.

  Windows never wrap from the newest item into the oldest one (the seam of the
  ring). Reads and writes take a lock, so a dataset iterated in tf.data's thread
  and a collector writing in another do not see half-written batches.

  Args:
    data_spec: ArraySpec nest of one item (TensorSpecs are converted).
    capacity: how many items the ring holds.
    seed: seed of the sampling generator (None: fresh entropy).
  """

  def __init__(self, data_spec: Any, capacity: int, seed: Optional[int] = None):
    spec = tensor_spec.to_nest_array_spec(data_spec)
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or capacity < 1:
      raise ValueError(f"capacity={capacity!r} must be an int >= 1")
    super().__init__(spec, int(capacity))
    self._flat_spec = tuple(tf.nest.flatten(spec))
    # Tuples (not lists) so tf.Module's attribute tracking leaves the arrays alone.
    self._storage = tuple(np.zeros((self._capacity,) + tuple(s.shape), s.dtype)
                          for s in self._flat_spec)
    self._num_adds = 0
    self._rng = np.random.default_rng(seed)
    self._lock = threading.Lock()

  def _check_items(self, items: Any) -> List[np.ndarray]:
    self._check_structure(items)
    arrays, batch = [], None
    for i, (value, spec) in enumerate(zip(tf.nest.flatten(items), self._flat_spec)):
      array = np.asarray(value)
      if array.shape[1:] != tuple(spec.shape) or array.ndim != len(spec.shape) + 1:
        raise ValueError(f"add_batch: leaf {i} ({spec.name!r}) has shape {array.shape}, "
                         f"expected (batch,) + {tuple(spec.shape)}")
      if not np.can_cast(array.dtype, spec.dtype, casting="same_kind"):
        raise TypeError(f"add_batch: leaf {i} ({spec.name!r}) has dtype {array.dtype}, the "
                        f"spec wants {spec.dtype}; cast it first")
      if batch is not None and array.shape[0] != batch:
        raise ValueError(f"add_batch: leaf {i} ({spec.name!r}) has batch size "
                         f"{array.shape[0]}, other leaves have {batch}")
      batch = array.shape[0]
      arrays.append(array.astype(spec.dtype, copy=False))
    return arrays

  def _add_batch(self, items: Any) -> None:
    arrays = self._check_items(items)
    if not arrays:
      return
    batch = arrays[0].shape[0]
    # Only the newest `capacity` rows can survive; skipping the rest keeps the
    # fancy-index assignment free of duplicate slots.
    keep = min(batch, self._capacity)
    with self._lock:
      slots = (self._num_adds + batch - keep + np.arange(keep)) % self._capacity
      for store, array in zip(self._storage, arrays):
        store[slots] = array[batch - keep:]
      self._num_adds += batch

  def _stored(self) -> int:
    return min(self._num_adds, self._capacity)

  def _check_enough(self, steps: int) -> int:
    stored = self._stored()
    if stored == 0:
      raise ValueError("replay buffer is empty: call add_batch before sampling")
    if stored < steps:
      raise ValueError(f"replay buffer holds {stored} steps per row, fewer than "
                       f"num_steps={steps}; add more items before sampling (or sample fewer "
                       "steps)")
    return stored

  def _read(self, first: np.ndarray, steps: int, squeeze_time: bool) -> Any:
    """Windows starting at global ids `first` (a vector): leaves [len(first), steps, ...]."""
    slots = (first[:, None] + np.arange(steps)) % self._capacity
    flat = [store[slots] for store in self._storage]
    if squeeze_time:
      flat = [x[:, 0] for x in flat]
    return tf.nest.pack_sequence_as(self._data_spec, flat)

  def _get_next(self, sample_batch_size: Optional[int], num_steps: Optional[int],
                time_stacked: bool) -> tuple:
    steps = 1 if num_steps is None else num_steps
    batch = 1 if sample_batch_size is None else sample_batch_size
    with self._lock:
      stored = self._check_enough(steps)
      starts = stored - steps + 1
      first = self._num_adds - stored + self._rng.integers(0, starts, size=batch)
      items = self._read(first, steps, squeeze_time=num_steps is None)
    info = BufferInfo(ids=first.astype(np.int64),
                      probabilities=np.full([batch], 1.0 / starts, np.float32))
    if num_steps is not None and not time_stacked:
      items = tuple(tf.nest.map_structure(lambda x, t=t: x[:, t], items) for t in range(steps))
    if sample_batch_size is None:
      items = tf.nest.map_structure(lambda x: x[0], items)
      info = BufferInfo(ids=info.ids[0], probabilities=info.probabilities[0])
    return items, info

  def _signature(self, outer: list, num_steps: Optional[int]) -> tuple:
    time = [] if num_steps is None else [num_steps]
    items = tf.nest.map_structure(
        lambda s: tf.TensorSpec(outer + time + list(s.shape), tf.as_dtype(s.dtype)),
        self._data_spec)
    return items, BufferInfo(ids=tf.TensorSpec(outer, tf.int64),
                             probabilities=tf.TensorSpec(outer, tf.float32))

  def _as_dataset(self, sample_batch_size: Optional[int], num_steps: Optional[int],
                  num_parallel_calls: Optional[int]) -> tf.data.Dataset:
    """Samples forever; num_parallel_calls is ignored (the generator runs in one thread)."""
    del num_parallel_calls

    def generate():
      while True:
        yield self._get_next(sample_batch_size, num_steps, time_stacked=True)
    outer = [] if sample_batch_size is None else [sample_batch_size]
    return tf.data.Dataset.from_generator(
        generate, output_signature=self._signature(outer, num_steps))

  def _single_deterministic_pass_dataset(self, sample_batch_size: Optional[int],
                                         num_steps: Optional[int],
                                         num_parallel_calls: Optional[int]) -> tf.data.Dataset:
    """Every window once, oldest first; the last batch may be smaller.

    The contents are snapshotted when iteration starts. An empty (or too short)
    buffer gives no elements.
    """
    del num_parallel_calls
    steps = 1 if num_steps is None else num_steps
    chunk = sample_batch_size or 1

    def generate():
      with self._lock:
        # A time-ordered copy: writes during the pass cannot shift the windows.
        ordered = self._gather_all_locked()
        stored = self._stored()
        oldest = self._num_adds - stored
      starts = max(stored - steps + 1, 0)
      for begin in range(0, starts, chunk):
        offsets = np.arange(begin, min(begin + chunk, starts))
        window = offsets[:, None] + np.arange(steps)
        flat = [x[0][window] for x in ordered]
        if num_steps is None:
          flat = [x[:, 0] for x in flat]
        info = BufferInfo(ids=(oldest + offsets).astype(np.int64),
                          probabilities=np.full(offsets.shape, 1.0 / starts, np.float32))
        items = tf.nest.pack_sequence_as(self._data_spec, flat)
        if sample_batch_size is None:
          items = tf.nest.map_structure(lambda x: x[0], items)
          info = BufferInfo(ids=info.ids[0], probabilities=info.probabilities[0])
        yield items, info
    outer = [] if sample_batch_size is None else [None]
    return tf.data.Dataset.from_generator(
        generate, output_signature=self._signature(outer, num_steps))

  def _gather_all_locked(self) -> List[np.ndarray]:
    stored = self._stored()
    slots = (self._num_adds - stored + np.arange(stored)) % self._capacity
    return [store[slots][None] for store in self._storage]

  def _gather_all(self) -> Any:
    """Every stored item, oldest first, shaped [1, T, ...] (the buffer has one row)."""
    with self._lock:
      flat = self._gather_all_locked()
    return tf.nest.pack_sequence_as(self._data_spec, flat)

  def _clear(self) -> None:
    with self._lock:
      self._num_adds = 0

  def _num_frames(self) -> int:
    return self._stored()
