"""TFUniformReplayBuffer: a ring buffer in tf.Variables, sampled uniformly.

Storage is one variable per spec leaf, shaped [batch_size, max_length, ...], plus
a counter of add_batch calls. Each add_batch writes one time slot for every row
(row b holds the experience of environment b), so a row is a time-ordered
sequence and consecutive slots of a row are consecutive steps. When the ring is
full the oldest slot is overwritten.

Items are identified by `add_index * batch_size + row`, where add_index counts
add_batch calls since the last clear(); BufferInfo.ids holds the id of each
sample's first step.

Everything is TF ops on variables, so add_batch and get_next work eagerly, inside
tf.function, and inside tf.data map functions. The variables are tracked by
tf.Module, so a tf.train.Checkpoint holding the buffer saves its contents.
"""

from typing import Any, List, Optional

import tensorflow as tf

from rlrun.replay_buffers.replay_buffer import BufferInfo, ReplayBuffer
from rlrun.specs import tensor_spec


def _positive_int(value: Any, label: str) -> int:
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    raise ValueError(f"{label}={value!r} must be an int >= 1")
  return value


class TFUniformReplayBuffer(ReplayBuffer):
  """A replay buffer of tf.Variables that samples windows uniformly.

  Sampling draws uniformly among all valid (row, start) pairs: a window of
  num_steps consecutive steps of one row that are all currently stored. Windows
  never cross the write head, so they never join the newest step to the oldest.

  Args:
    data_spec: TensorSpec (or ArraySpec) nest of one item; shapes fully defined.
    batch_size: rows written by each add_batch (the environment batch size).
    max_length: time slots per row; capacity is batch_size * max_length.
    scope: the tf.Module name (a Python identifier).
    device: device for the variables and the ops (None: TF's default placement).
    dataset_drop_remainder: in the single deterministic pass, drop the last
      batch when it holds fewer than sample_batch_size items.
  """

  def __init__(self, data_spec: Any, batch_size: int, max_length: int = 1000,
               scope: str = "TFUniformReplayBuffer", device: Optional[str] = None,
               dataset_drop_remainder: bool = False):
    _positive_int(batch_size, "batch_size")
    _positive_int(max_length, "max_length")
    spec = tensor_spec.from_spec(data_spec)
    for leaf in tf.nest.flatten(spec):
      if not leaf.shape.is_fully_defined():
        raise ValueError(f"TFUniformReplayBuffer needs fully defined spec shapes; {leaf!r} has "
                         f"shape {leaf.shape}. Give every dimension a size.")
    super().__init__(spec, batch_size * max_length, name=scope)
    self._batch_size = batch_size
    self._max_length = max_length
    self._device = device
    self._dataset_drop_remainder = dataset_drop_remainder
    self._flat_spec = tuple(tf.nest.flatten(spec))
    with tf.device(device), self.name_scope:
      self._storage = [
          tf.Variable(tf.zeros([batch_size, max_length] + leaf.shape.as_list(), leaf.dtype),
                      trainable=False, name=f"item_{i}")
          for i, leaf in enumerate(self._flat_spec)]
      self._num_adds = tf.Variable(0, dtype=tf.int64, trainable=False, name="num_adds")

  @property
  def batch_size(self) -> int:
    return self._batch_size

  @property
  def max_length(self) -> int:
    return self._max_length

  def _check_items(self, items: Any) -> List[tf.Tensor]:
    self._check_structure(items)
    tensors = []
    for i, (value, leaf) in enumerate(zip(tf.nest.flatten(items), self._flat_spec)):
      if tf.is_tensor(value):
        if value.dtype != leaf.dtype:
          raise TypeError(f"add_batch: leaf {i} ({leaf.name!r}) has dtype {value.dtype.name}, "
                          f"the spec wants {leaf.dtype.name}; cast it first")
        tensor = value
      else:
        tensor = tf.convert_to_tensor(value, dtype=leaf.dtype)
      expected = tf.TensorShape([self._batch_size]).concatenate(leaf.shape)
      if not tensor.shape.is_compatible_with(expected):
        raise ValueError(f"add_batch: leaf {i} ({leaf.name!r}) has shape {tensor.shape}, "
                         f"expected {expected} ([batch_size] + spec shape)")
      tensors.append(tensor)
    return tensors

  def _add_batch(self, items: Any) -> None:
    tensors = self._check_items(items)
    with tf.device(self._device), tf.name_scope("add_batch"):
      slot = self._num_adds % self._max_length
      rows = tf.range(self._batch_size, dtype=tf.int64)
      indices = tf.stack([rows, tf.fill([self._batch_size], slot)], axis=-1)
      writes = [var.scatter_nd_update(indices, t) for var, t in zip(self._storage, tensors)]
      # The counter moves only after the data is in place, so readers never see a
      # slot counted as stored before it is written.
      with tf.control_dependencies(writes):
        self._num_adds.assign_add(1)

  def _check_enough(self, stored: tf.Tensor, steps: int) -> list:
    """Assertions that `stored` steps per row hold at least one window of `steps`."""
    empty = tf.debugging.Assert(
        stored > 0, [f"replay buffer {self.name!r} is empty: call add_batch before sampling"])
    with tf.control_dependencies([empty] if empty is not None else []):
      short = tf.debugging.Assert(stored >= steps, [tf.strings.format(
          "replay buffer holds {} steps per row, fewer than num_steps={}; add more batches "
          "before sampling (or sample fewer steps)", (stored, steps))])
    return [op for op in (empty, short) if op is not None]

  def _check_num_steps(self, num_steps: Optional[int]) -> int:
    steps = 1 if num_steps is None else num_steps
    if steps > self._max_length:
      raise ValueError(f"num_steps={steps} exceeds max_length={self._max_length}: no window "
                       "fits in a row. Use a larger max_length.")
    return steps

  def _read(self, rows: tf.Tensor, first: tf.Tensor, steps: int) -> List[tf.Tensor]:
    """Reads windows: leaves shaped rows.shape + [steps, ...] from global add indices."""
    slots = (tf.expand_dims(first, -1) + tf.range(steps, dtype=tf.int64)) % self._max_length
    row_index = tf.broadcast_to(tf.expand_dims(rows, -1), tf.shape(slots))
    indices = tf.stack([row_index, slots], axis=-1)
    return [tf.gather_nd(var, indices) for var in self._storage]

  def _get_next(self, sample_batch_size: Optional[int], num_steps: Optional[int],
                time_stacked: bool) -> tuple:
    steps = self._check_num_steps(num_steps)
    batch = 1 if sample_batch_size is None else sample_batch_size
    with tf.device(self._device), tf.name_scope("get_next"):
      num_adds = self._num_adds.read_value()  # one snapshot for the whole sample
      stored = tf.minimum(num_adds, self._max_length)
      with tf.control_dependencies(self._check_enough(stored, steps)):
        starts_per_row = stored - steps + 1
        total = starts_per_row * self._batch_size
        pick = tf.random.uniform([batch], maxval=total, dtype=tf.int64)
      rows = pick // starts_per_row
      first = num_adds - stored + pick % starts_per_row
      flat = self._read(rows, first, steps)
      info = BufferInfo(ids=first * self._batch_size + rows,
                        probabilities=tf.fill([batch], 1.0 / tf.cast(total, tf.float32)))
    if num_steps is None:
      items = tf.nest.pack_sequence_as(self._data_spec, [x[:, 0] for x in flat])
    elif time_stacked:
      items = tf.nest.pack_sequence_as(self._data_spec, flat)
    else:
      items = tuple(tf.nest.pack_sequence_as(self._data_spec, [x[:, t] for x in flat])
                    for t in range(steps))
    if sample_batch_size is None:
      items = tf.nest.map_structure(lambda x: x[0], items)
      info = BufferInfo(ids=info.ids[0], probabilities=info.probabilities[0])
    return items, info

  def _as_dataset(self, sample_batch_size: Optional[int], num_steps: Optional[int],
                  num_parallel_calls: Optional[int]) -> tf.data.Dataset:
    self._check_num_steps(num_steps)

    @tf.autograph.experimental.do_not_convert  # plain tensor code; skip the source conversion
    def sample(_):
      return self._get_next(sample_batch_size, num_steps, time_stacked=True)
    return tf.data.Dataset.counter().map(sample, num_parallel_calls=num_parallel_calls)

  def _single_deterministic_pass_dataset(self, sample_batch_size: Optional[int],
                                         num_steps: Optional[int],
                                         num_parallel_calls: Optional[int]) -> tf.data.Dataset:
    """Every (row, start) window once: row 0's windows in time order, then row 1's...

    The contents are snapshotted when iteration starts, so re-iterating the dataset
    sees what was added since. An empty (or too short) buffer gives no elements.
    """
    steps = self._check_num_steps(num_steps)

    @tf.autograph.experimental.do_not_convert
    def windows(_):
      num_adds = self._num_adds.read_value()
      stored = tf.minimum(num_adds, self._max_length)
      starts_per_row = tf.maximum(stored - steps + 1, 0)
      total = starts_per_row * self._batch_size

      @tf.autograph.experimental.do_not_convert
      def window(k):  # k: one window number, or a vector of them when batched
        row = k // starts_per_row
        first = num_adds - stored + k % starts_per_row
        flat = self._read(row, first, steps)
        if num_steps is None:
          flat = [tf.squeeze(x, axis=k.shape.rank) for x in flat]
        info = BufferInfo(ids=first * self._batch_size + row,
                          probabilities=tf.fill(tf.shape(k), 1.0 / tf.cast(total, tf.float32)))
        return tf.nest.pack_sequence_as(self._data_spec, flat), info
      numbers = tf.data.Dataset.range(total)
      if sample_batch_size is not None:
        # Batch the window numbers, not the windows: one gather per batch is cheaper.
        numbers = numbers.batch(sample_batch_size, drop_remainder=self._dataset_drop_remainder)
      return numbers.map(window, num_parallel_calls=num_parallel_calls)

    return tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)).flat_map(windows)

  def _gather_all(self) -> Any:
    with tf.device(self._device), tf.name_scope("gather_all"):
      num_adds = self._num_adds.read_value()
      stored = tf.minimum(num_adds, self._max_length)
      slots = (num_adds - stored + tf.range(stored, dtype=tf.int64)) % self._max_length
      flat = [tf.gather(var, slots, axis=1) for var in self._storage]
    return tf.nest.pack_sequence_as(self._data_spec, flat)

  def _clear(self) -> None:
    # Resetting the counter is enough: slots past it are never read.
    self._num_adds.assign(0)

  def _num_frames(self) -> tf.Tensor:
    return tf.minimum(self._num_adds.read_value(), self._max_length) * self._batch_size
