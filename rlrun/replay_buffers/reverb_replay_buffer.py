"""ReverbReplayBuffer: samples Trajectory sequences from a Reverb table as a tf.data.Dataset."""

from typing import Any, Optional

import reverb
import tensorflow as tf

from rlrun.replay_buffers.packing import PackedCodec
from rlrun.replay_buffers.replay_buffer import ReplayBuffer
from rlrun.specs import tensor_spec


class ReverbReplayBuffer(ReplayBuffer):
  """Reads a Reverb table written by ReverbAddTrajectoryObserver.

  The server is not owned here: pass its address, or the in-process
  `local_server` (a reverb.Server or rlrun ReplayServer). Writing goes through
  ReverbAddTrajectoryObserver, not add_batch; the capacity is the table's
  max_size, read from the server on each access.

  Args:
    data_spec: the spec of one step (usually agent.collect_data_spec).
    table_name: the table to sample.
    sequence_length: steps per item in the table.
    server_address: 'host:port' of the Reverb server.
    local_server: an in-process server (alternative to server_address).
    packed: the table stores packed steps (make_table(packed=True)); None asks the
      server: a table whose signature is one uint8 column of the packed size is.
    rate_limiter_timeout_ms: how long a sample may wait on the rate limiter before
      the dataset ends (-1: forever).
  """

  def __init__(self, data_spec: Any, table_name: str, sequence_length: int,
               server_address: Optional[str] = None, local_server: Any = None,
               packed: Optional[bool] = None, rate_limiter_timeout_ms: int = -1):
    if server_address is None:
      if local_server is None:
        raise ValueError("ReverbReplayBuffer needs server_address or local_server")
      server_address = f"localhost:{local_server.port}"
    super().__init__(tensor_spec.from_spec(data_spec), capacity=None)
    self._table_name = table_name
    self._sequence_length = sequence_length
    self._server_address = server_address
    self._py_client = reverb.Client(server_address)
    codec = PackedCodec(self._data_spec)
    if packed is None:
      signature = self._table_info().signature
      packed = (isinstance(signature, tf.TensorSpec) and signature.dtype == tf.uint8 and
                signature.shape.as_list() == [sequence_length, codec.num_bytes])
    self._codec = codec if packed else None
    self._rate_limiter_timeout_ms = rate_limiter_timeout_ms

  @property
  def py_client(self) -> reverb.Client:
    return self._py_client

  @property
  def codec(self) -> Optional[PackedCodec]:
    return self._codec

  @property
  def table_name(self) -> str:
    return self._table_name

  @property
  def capacity(self) -> int:
    return self._table_info().max_size

  def _num_frames(self) -> int:
    """Items currently in the table."""
    return self._table_info().current_size

  def _table_info(self):
    return self._py_client.server_info()[self._table_name]

  def _clear(self) -> None:
    self._py_client.reset(self._table_name)

  def _add_batch(self, items: Any) -> None:
    raise NotImplementedError(
        "ReverbReplayBuffer only reads; write steps with ReverbAddTrajectoryObserver "
        "(reverb_utils), e.g. as a driver observer, instead of add_batch")

  def _gather_all(self) -> Any:
    raise NotImplementedError(
        "ReverbReplayBuffer cannot gather_all: a Reverb table can only be sampled, not "
        "enumerated. Sample with as_dataset (or use TFUniformReplayBuffer)")

  def _get_next(self, sample_batch_size: Optional[int], num_steps: Optional[int],
                time_stacked: bool) -> tuple:
    """One element of as_dataset; opens a new sampler per call, so prefer the dataset."""
    if not time_stacked:
      raise NotImplementedError("ReverbReplayBuffer.get_next supports only time_stacked=True")
    return next(iter(self.as_dataset(sample_batch_size, num_steps)))

  def update_priorities(self, keys, priorities) -> None:
    """Sets new priorities for sampled items (e.g. from TD errors)."""
    updates = {int(k): float(p) for k, p in zip(tf.reshape(keys, [-1]).numpy(),
                                                tf.reshape(priorities, [-1]).numpy())}
    self._py_client.mutate_priorities(self._table_name, updates=updates)

  def _check_single_pass_table(self) -> None:
    info = self._table_info()
    sampler = info.sampler_options.WhichOneof("distribution")
    if sampler != "fifo" or info.max_times_sampled != 1:
      raise ValueError(
          f"table {self._table_name!r} (sampler {sampler!r}, max_times_sampled="
          f"{info.max_times_sampled}) cannot give a single deterministic pass; write to a table "
          "made with replay.make_table(sampler='fifo', max_times_sampled=1)")

  def as_dataset(self, sample_batch_size: Optional[int] = None, num_steps: Optional[int] = None,
                 num_parallel_calls: Optional[int] = None, single_deterministic_pass: bool = False,
                 max_in_flight_samples_per_worker: Optional[int] = None,
                 num_workers: int = 1) -> tf.data.Dataset:
    """A dataset of (Trajectory, reverb.SampleInfo).

    Trajectories are shaped [sample_batch_size, num_steps, ...] (without the batch
    dim when sample_batch_size is None). `num_workers` Reverb sampler threads fetch
    items concurrently.

    single_deterministic_pass: every item exactly once, in insertion order, then the
      dataset ends (the last batch may be smaller). Reverb cannot enumerate a table,
      so this needs a table that hands out each item once in order: sampler 'fifo'
      with max_times_sampled=1 (replay.make_table(sampler='fifo',
      max_times_sampled=1)). Sampling consumes the items.

    Raises:
      ValueError: when num_steps differs from the table's sequence length, or a single
        pass is asked of a table that cannot give one.
    """
    if num_steps is not None and num_steps != self._sequence_length:
      raise ValueError(f"num_steps={num_steps} but table {self._table_name!r} holds sequences "
                       f"of {self._sequence_length}; sample with num_steps="
                       f"{self._sequence_length} or write with that sequence_length")
    if single_deterministic_pass:
      self._check_single_pass_table()
      num_workers, max_in_flight_samples_per_worker = 1, 1
    del num_parallel_calls  # Reverb's workers already sample in parallel.
    if self._codec is not None:
      dtypes, shapes = tf.uint8, tf.TensorShape([self._sequence_length, self._codec.num_bytes])
    else:
      step_spec = tensor_spec.add_outer_dim(self._data_spec, self._sequence_length)
      dtypes = tf.nest.map_structure(lambda s: s.dtype, step_spec)
      shapes = tf.nest.map_structure(lambda s: s.shape, step_spec)
    in_flight = max_in_flight_samples_per_worker or max(2 * (sample_batch_size or 1), 16)
    dataset = reverb.TrajectoryDataset(
        self._server_address, self._table_name, dtypes=dtypes, shapes=shapes,
        max_in_flight_samples_per_worker=in_flight, num_workers_per_iterator=num_workers,
        # A single pass ends as soon as the table has nothing left to hand out.
        rate_limiter_timeout_ms=0 if single_deterministic_pass else self._rate_limiter_timeout_ms)
    if sample_batch_size is not None:
      dataset = dataset.batch(sample_batch_size, drop_remainder=not single_deterministic_pass)
    codec = self._codec
    @tf.autograph.experimental.do_not_convert  # plain tensor code; skip the source conversion
    def unpack(sample: reverb.ReplaySample):
      data = codec.decode(sample.data) if codec is not None else sample.data
      return data, sample.info
    return dataset.map(unpack, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
