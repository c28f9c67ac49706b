"""Reverb plumbing: table factories, rate limits, the writing observer, and a server the runner owns."""

import dataclasses
import logging
import math
import os
from typing import Any, Optional, Sequence, Union

import gin
import reverb
import tree

from rlrun.errors import UserError
from rlrun.replay_buffers.packing import PackedCodec
from rlrun.specs import tensor_spec
from rlrun.trajectories import time_step as ts

_SAMPLERS = {"uniform": reverb.selectors.Uniform, "fifo": reverb.selectors.Fifo,
             "lifo": reverb.selectors.Lifo}
_REMOVERS = {"fifo": reverb.selectors.Fifo, "lifo": reverb.selectors.Lifo,
             "uniform": reverb.selectors.Uniform}


def table_signature(data_spec: Any, sequence_length: int, packed: bool) -> Any:
  """The signature of a table holding `sequence_length`-step items of `data_spec`."""
  import tensorflow as tf
  if packed:
    return tf.TensorSpec([sequence_length, PackedCodec(data_spec).num_bytes], tf.uint8)
  return tensor_spec.add_outer_dim(tensor_spec.from_spec(data_spec), sequence_length)


class TableConfigError(UserError, ValueError):
  """A replay table or rate limiter config that could never work; the message is one line."""


@dataclasses.dataclass(frozen=True)
class SampleToInsertRatio:
  """A SampleToInsertRatio rate limit for make_table (see sample_to_insert_ratio)."""
  samples_per_insert: float
  error_buffer: float
  min_size_to_sample: Optional[int] = None

  def min_size(self, default: int) -> int:
    return default if self.min_size_to_sample is None else self.min_size_to_sample

  def build(self, min_size_to_sample: int) -> reverb.rate_limiters.RateLimiter:
    """Reverb's limiter; `min_size_to_sample` applies when the limit sets none."""
    return reverb.rate_limiters.SampleToInsertRatio(
        samples_per_insert=self.samples_per_insert,
        min_size_to_sample=self.min_size(min_size_to_sample),
        error_buffer=self.error_buffer)


@gin.configurable(module="replay")
def sample_to_insert_ratio(samples_per_insert: float, error_buffer: float,
                           min_size_to_sample: Optional[int] = None,
                           max_size: Optional[int] = None) -> SampleToInsertRatio:
  """A rate limit keeping `samples_per_insert` samples per inserted item, for make_table.

  Inserts block when the actors run `error_buffer` samples ahead of the ratio, samples
  when the learner does. In gin:

    replay.make_table.rate_limiter = @replay.sample_to_insert_ratio()
    replay.sample_to_insert_ratio.samples_per_insert = 8.0
    replay.sample_to_insert_ratio.error_buffer = 800.0

  Args:
    samples_per_insert: items sampled per item inserted, on average (> 0).
    error_buffer: how far (in samples) inserting and sampling may drift from the ratio
      before the faster side blocks; at least max(1, samples_per_insert).
    min_size_to_sample: items needed before sampling starts (None: make_table's
      min_size_to_sample).
    max_size: the table's capacity, to check against now (make_table checks again).

  Raises:
    TableConfigError: for a limit that could never be satisfied.
  """
  limit = SampleToInsertRatio(samples_per_insert, error_buffer, min_size_to_sample)
  check_rate_limiter(limit, max_size=max_size)
  return limit


def check_rate_limiter(limiter: Any, max_size: Optional[int] = None,
                       min_size_to_sample: int = 1, max_times_sampled: int = 0,
                       where: str = "rate limiter") -> None:
  """Rejects a rate limiter that could never be satisfied.

  A SampleToInsertRatio's deadlocks are (Reverb's rate_limiter.cc): a min size the
  table cannot reach (sampling never starts); an error buffer narrower than
  max(1, samples_per_insert) on either side (one insert and one sample both blocked);
  and a ratio above max_times_sampled (items leave before they are sampled that
  often). A full table does not block inserts: the remover evicts an item first, and
  the ratio counts inserts, not the current size.

  Args:
    limiter: a SampleToInsertRatio (this module's), a reverb.rate_limiters object, or
      None for MinSize(min_size_to_sample).
    max_size: the table's capacity (None: not checked).
    min_size_to_sample: the min size used when the limiter sets none.
    max_times_sampled: the table's max_times_sampled (0: unlimited).
    where: names the table in messages.

  Raises:
    TableConfigError: with one line naming the problem and the fix.
  """
  if isinstance(limiter, SampleToInsertRatio):
    spi, min_size = limiter.samples_per_insert, limiter.min_size(min_size_to_sample)
    if not spi > 0:
      raise TableConfigError(f"{where}: samples_per_insert must be > 0, got {spi}")
    if not limiter.error_buffer >= max(1.0, spi):
      raise TableConfigError(
          f"{where}: error_buffer={limiter.error_buffer:g} is below max(1, samples_per_insert)"
          f"={max(1.0, spi):g}, so inserts and samples could block each other for good; "
          f"use error_buffer >= {max(1.0, spi):g}")
    ratio = True
  else:  # Reverb validated its own arguments; these attributes are its constructor's.
    spi = getattr(limiter, "_samples_per_insert", 1.0)
    min_size = getattr(limiter, "_min_size_to_sample", min_size_to_sample)
    ratio = isinstance(limiter, reverb.rate_limiters.SampleToInsertRatio)
  if min_size < 1:
    raise TableConfigError(f"{where}: min_size_to_sample must be >= 1, got {min_size}")
  if max_size is not None and min_size > max_size:
    raise TableConfigError(f"{where}: min_size_to_sample={min_size} exceeds max_size={max_size}; "
                           "sampling could never start")
  if ratio and 0 < max_times_sampled < spi:
    raise TableConfigError(
        f"{where}: samples_per_insert={spi:g} exceeds max_times_sampled={max_times_sampled}; "
        "items are removed before they are sampled that often, so the ratio is never met")


@gin.configurable(module="replay")
def make_table(name: str, data_spec: Any, sequence_length: int, max_size: int = 100000,
               sampler: str = "uniform", remover: str = "fifo", min_size_to_sample: int = 1,
               priority_exponent: float = 0.8, packed: bool = True,
               rate_limiter: Union[SampleToInsertRatio, reverb.rate_limiters.RateLimiter,
                                   None] = None,
               max_times_sampled: int = 0) -> reverb.Table:
  """A Reverb table for replay.

  Args:
    name: table name.
    data_spec: the spec of one step (the agent's collect_data_spec).
    sequence_length: steps per item (the agent's train_sequence_length).
    max_size: capacity in items.
    sampler: 'uniform', 'prioritized', 'fifo' or 'lifo'.
    remover: 'fifo', 'lifo' or 'uniform': which item goes when the table is full.
    min_size_to_sample: items needed before sampling starts (MinSize rate limiter).
    priority_exponent: exponent of the prioritized sampler.
    packed: store each step as one uint8 column (faster sampling; see packing.py).
    rate_limiter: overrides the MinSize limiter: a sample_to_insert_ratio() (which
      takes min_size_to_sample from here unless it sets its own) or any
      reverb.rate_limiters object.
    max_times_sampled: remove an item after this many samples (0: never). A 'fifo'
      table with 1 gives ReverbReplayBuffer's single deterministic pass.

  Raises:
    TableConfigError: (a ValueError) for settings that could never work, e.g. a
      rate limiter that could never be satisfied (see check_rate_limiter).
  """
  if max_size < 1:
    raise TableConfigError(f"table {name!r}: max_size must be >= 1, got {max_size}")
  check_rate_limiter(rate_limiter, max_size, min_size_to_sample, max_times_sampled,
                     where=f"table {name!r}")
  if rate_limiter is None:
    limiter = reverb.rate_limiters.MinSize(min_size_to_sample)
  elif isinstance(rate_limiter, SampleToInsertRatio):
    limiter = rate_limiter.build(min_size_to_sample)
  else:
    limiter = rate_limiter
  if sampler == "prioritized":
    sampler_obj = reverb.selectors.Prioritized(priority_exponent)
  elif sampler in _SAMPLERS:
    sampler_obj = _SAMPLERS[sampler]()
  else:
    raise TableConfigError(f"unknown sampler {sampler!r}; use one of "
                           f"{sorted(_SAMPLERS) + ['prioritized']}")
  if remover not in _REMOVERS:
    raise TableConfigError(f"unknown remover {remover!r}; use one of {sorted(_REMOVERS)}")
  return reverb.Table(name, max_size=max_size, sampler=sampler_obj, remover=_REMOVERS[remover](),
                      rate_limiter=limiter, max_times_sampled=max_times_sampled,
                      signature=table_signature(data_spec, sequence_length, packed))


class ReplayServer:
  """A Reverb server owned by the runner, checkpointing into `checkpoint_dir`.

  Reverb keeps one checkpoint in `checkpoint_dir` and deletes everything else there
  after each save, so the runner archives the ones it keeps elsewhere (see
  reverb_checkpoints.archive) and nothing else may live in that directory.

  Args:
    tables: the tables to serve.
    checkpoint_dir: where Reverb writes checkpoints (None: no checkpoints).
    port: the gRPC port (None: a free one). Reverb has no authentication and listens
      on all interfaces.
    load_from: an archived checkpoint to start from. `checkpoint_dir` is emptied
      first (a checkpoint there would win over it); verify it before (a checkpoint
      that is not there loads as empty tables without an error).
    fresh: start with empty tables: empties `checkpoint_dir` too. Without
      `load_from` or `fresh`, the newest checkpoint in `checkpoint_dir` is loaded.
  """

  def __init__(self, tables: Sequence[reverb.Table], checkpoint_dir: Optional[str] = None,
               port: Optional[int] = None, load_from: Optional[str] = None,
               fresh: bool = False):
    from rlrun.replay_buffers import reverb_checkpoints
    checkpointer = None
    if checkpoint_dir:
      os.makedirs(checkpoint_dir, exist_ok=True)
      if load_from or fresh:
        reverb_checkpoints.clear_live(checkpoint_dir)
      checkpointer = reverb.checkpointers.DefaultCheckpointer(
          path=checkpoint_dir, fallback_checkpoint_path=load_from)
    self._server = reverb.Server(list(tables), port=port, checkpointer=checkpointer)
    self._client = reverb.Client(self.address)

  @property
  def port(self) -> int:
    return self._server.port

  @property
  def address(self) -> str:
    return f"localhost:{self._server.port}"

  @property
  def client(self) -> reverb.Client:
    return self._client

  def checkpoint(self) -> str:
    """Writes a replay checkpoint; returns its directory (Reverb removes the previous one)."""
    return self._client.checkpoint()

  def stop(self) -> None:
    self._server.stop()


class WriteTimeout(TimeoutError):
  """A Reverb write did not finish in time. Nothing was lost: make the same call again."""


class ReverbAddTrajectoryObserver:
  """An observer that writes Trajectories into Reverb as overlapping sequences.

  Every step is appended; once an episode has `sequence_length` steps, an item
  covering the last `sequence_length` steps is created every `stride_length` steps.
  The boundary step (LAST -> FIRST) closes the episode, so no item spans two
  episodes; the item that ends on the boundary is the one that holds the final
  transition.

  With `timeout_s`, no call blocks longer than that: a call that would (the server
  is gone, or its rate limiter holds inserts back) raises WriteTimeout before it has
  written anything, so making the same call again (e.g. under
  rlrun.distributed.connection.retry) neither loses nor duplicates a step. The
  writing that blocks (confirming the items of an ended episode, or of more than
  `max_in_flight_items`) happens at the start of the next call or in flush().

  Args:
    py_client: a reverb.Client.
    table_name: a table name or a list of names.
    sequence_length: steps per item.
    stride_length: steps between the starts of consecutive items.
    priority: initial priority of new items.
    codec: a PackedCodec when the table is packed (see make_table(packed=True)).
    max_in_flight_items: items that may await confirmation before a call blocks.
    timeout_s: the longest a call may block (None: no limit).

  Raises:
    WriteTimeout: (from the constructor) with `timeout_s`, when the server does not
      answer within it.
  """

  def __init__(self, py_client: reverb.Client, table_name: Union[str, Sequence[str]],
               sequence_length: int, stride_length: int = 1, priority: float = 1.0,
               codec: Optional[PackedCodec] = None, max_in_flight_items: int = 64,
               timeout_s: Optional[float] = None):
    if sequence_length < 1 or stride_length < 1:
      raise ValueError(f"sequence_length ({sequence_length}) and stride_length "
                       f"({stride_length}) must be >= 1")
    if timeout_s is not None and not timeout_s > 0:
      raise ValueError(f"timeout_s must be > 0 or None, got {timeout_s}")
    self._client = py_client
    self._tables = [table_name] if isinstance(table_name, str) else list(table_name)
    self._sequence_length = sequence_length
    self._stride_length = stride_length
    self._priority = priority
    self._codec = codec
    self._max_in_flight = max_in_flight_items
    self._timeout_s = timeout_s
    if timeout_s is not None:
      # A validating writer fetches the table signatures with no deadline.
      try:
        py_client.server_info(timeout=max(1, math.ceil(timeout_s)))
      except (reverb.errors.DeadlineExceededError, RuntimeError) as e:
        raise self._timeout_error("reaching", "the server is not answering") from e
    self._writer = py_client.trajectory_writer(num_keep_alive_refs=sequence_length)
    self._steps_in_episode = 0
    self._items_since_flush = 0
    self._episode_ended = False  # the writer's end_episode is still to run

  def stamp(self, train_step: int) -> None:
    """Items created from now on carry `train_step` as their priority. Only for tables whose
    sampler and remover ignore priorities: the learner reads item staleness from it."""
    self._priority = float(train_step)

  @property
  def steps_in_episode(self) -> int:
    """Steps appended since the episode began (0 after a boundary step or reset)."""
    return self._steps_in_episode

  def __call__(self, trajectory) -> None:
    self._settle(everything=False)
    data = self._codec.encode(trajectory) if self._codec else trajectory
    self._writer.append(data)
    self._steps_in_episode += 1
    surplus = self._steps_in_episode - self._sequence_length
    if surplus >= 0 and surplus % self._stride_length == 0:
      item = tree.map_structure(lambda column: column[-self._sequence_length:],
                                self._writer.history)
      for table in self._tables:
        self._writer.create_item(table, self._priority, item)
      self._items_since_flush += 1
    if ts.all_true(trajectory.is_boundary()):
      self._steps_in_episode = 0
      self._episode_ended = True

  def flush(self) -> None:
    """Blocks until every created item is confirmed by the server."""
    self._settle(everything=True)

  def reset(self) -> None:
    """Drops the partial episode (e.g. after an environment reset outside the driver)."""
    self._call(self._writer.end_episode, clear_buffers=True)
    self._steps_in_episode = 0
    self._items_since_flush = 0
    self._episode_ended = False

  def close(self) -> None:
    """Closes the writer; items not yet confirmed may be lost."""
    try:
      self._writer.close()
    except Exception as e:  # pylint: disable=broad-except
      logging.warning("closing the Reverb writer failed: %s", e)

  def _settle(self, everything: bool) -> None:
    """Runs a pending end of episode, then waits for confirmations.

    `everything`: wait for every item; otherwise only when more than
    max_in_flight_items are pending, until half of them are left. State changes only
    after the writer call succeeds, so a WriteTimeout leaves the observer as it was.
    """
    if self._episode_ended:
      # Reverb's end_episode confirms every item first; on a timeout it changes nothing.
      self._call(self._writer.end_episode, clear_buffers=True)
      self._episode_ended = False
      self._items_since_flush = 0
    elif everything:
      self._call(self._writer.flush)
      self._items_since_flush = 0
    elif self._items_since_flush >= self._max_in_flight:
      keep = self._max_in_flight // 2
      self._call(self._writer.flush, block_until_num_items=keep)
      self._items_since_flush = keep

  def _call(self, method, **kwargs) -> None:
    timeout_ms = None if self._timeout_s is None else max(1, math.ceil(self._timeout_s * 1000))
    try:
      method(timeout_ms=timeout_ms, **kwargs)
    except reverb.errors.DeadlineExceededError as e:
      raise self._timeout_error(
          "writing to", "the server is not answering, or its rate limiter is holding inserts "
          "back until the learner samples more") from e

  def _timeout_error(self, doing: str, why: str) -> WriteTimeout:
    tables = ", ".join(repr(t) for t in self._tables)
    return WriteTimeout(f"{doing} Reverb table {tables} at {self._client.server_address} did "
                        f"not finish within {self._timeout_s:g} s: {why}")
