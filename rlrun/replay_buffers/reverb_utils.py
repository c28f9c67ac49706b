"""Reverb plumbing: table factories, the writing observer, and a server the runner owns."""

import logging
import os
import shutil
from typing import Any, Optional, Sequence, Union

import gin
import numpy as np
import reverb
import tree

from rlrun.replay_buffers.packing import PackedCodec
from rlrun.specs import tensor_spec

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


@gin.configurable(module="replay")
def make_table(name: str, data_spec: Any, sequence_length: int, max_size: int = 100000,
               sampler: str = "uniform", remover: str = "fifo", min_size_to_sample: int = 1,
               priority_exponent: float = 0.8, packed: bool = True,
               rate_limiter: Optional[reverb.rate_limiters.RateLimiter] = None,
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
    rate_limiter: overrides the MinSize limiter (e.g. SampleToInsertRatio).
    max_times_sampled: remove an item after this many samples (0: never). A 'fifo'
      table with 1 gives ReverbReplayBuffer's single deterministic pass.
  """
  if max_size < 1:
    raise ValueError(f"table {name!r}: max_size must be >= 1, got {max_size}")
  if min_size_to_sample > max_size:
    raise ValueError(f"table {name!r}: min_size_to_sample={min_size_to_sample} exceeds "
                     f"max_size={max_size}; sampling could never start")
  if sampler == "prioritized":
    sampler_obj = reverb.selectors.Prioritized(priority_exponent)
  elif sampler in _SAMPLERS:
    sampler_obj = _SAMPLERS[sampler]()
  else:
    raise ValueError(f"unknown sampler {sampler!r}; use one of "
                     f"{sorted(_SAMPLERS) + ['prioritized']}")
  if remover not in _REMOVERS:
    raise ValueError(f"unknown remover {remover!r}; use one of {sorted(_REMOVERS)}")
  return reverb.Table(name, max_size=max_size, sampler=sampler_obj, remover=_REMOVERS[remover](),
                      rate_limiter=rate_limiter or reverb.rate_limiters.MinSize(min_size_to_sample),
                      max_times_sampled=max_times_sampled,
                      signature=table_signature(data_spec, sequence_length, packed))


class ReplayServer:
  """A Reverb server owned by the runner, checkpointing into `checkpoint_dir`.

  On start it loads the newest checkpoint found in `checkpoint_dir`, so a resumed
  run gets its replay contents back.

  Args:
    tables: the tables to serve.
    checkpoint_dir: where replay checkpoints go (None: no checkpoints).
    port: the gRPC port (None: a free one). Reverb has no authentication and listens
      on all interfaces.
    keep_checkpoints: how many replay checkpoints to keep on disk.
  """

  def __init__(self, tables: Sequence[reverb.Table], checkpoint_dir: Optional[str] = None,
               port: Optional[int] = None, keep_checkpoints: int = 1):
    if keep_checkpoints < 1:
      raise ValueError(f"keep_checkpoints must be >= 1, got {keep_checkpoints}")
    checkpointer = None
    if checkpoint_dir:
      os.makedirs(checkpoint_dir, exist_ok=True)
      checkpointer = reverb.checkpointers.DefaultCheckpointer(path=checkpoint_dir)
    self._checkpoint_dir = checkpoint_dir
    self._keep = keep_checkpoints
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
    """Writes a replay checkpoint and removes older ones beyond `keep_checkpoints`."""
    path = self._client.checkpoint()
    if self._checkpoint_dir:
      entries = sorted((e for e in os.scandir(self._checkpoint_dir) if e.is_dir()),
                       key=lambda e: e.stat().st_mtime)
      keep = {os.path.realpath(path)}
      keep.update(os.path.realpath(e.path) for e in entries[-self._keep:])
      for entry in entries:
        if os.path.realpath(entry.path) not in keep:
          shutil.rmtree(entry.path, ignore_errors=True)
    return path

  def stop(self) -> None:
    self._server.stop()


class ReverbAddTrajectoryObserver:
  """An observer that writes Trajectories into Reverb as overlapping sequences.

  Every step is appended; once an episode has `sequence_length` steps, an item
  covering the last `sequence_length` steps is created every `stride_length` steps.
  The boundary step (LAST -> FIRST) closes the episode, so no item spans two
  episodes; the item that ends on the boundary is the one that holds the final
  transition.

  Args:
    py_client: a reverb.Client.
    table_name: a table name or a list of names.
    sequence_length: steps per item.
    stride_length: steps between the starts of consecutive items.
    priority: initial priority of new items.
    codec: a PackedCodec when the table is packed (see make_table(packed=True)).
    max_in_flight_items: items that may await confirmation before append blocks.
  """

  def __init__(self, py_client: reverb.Client, table_name: Union[str, Sequence[str]],
               sequence_length: int, stride_length: int = 1, priority: float = 1.0,
               codec: Optional[PackedCodec] = None, max_in_flight_items: int = 64):
    if sequence_length < 1 or stride_length < 1:
      raise ValueError(f"sequence_length ({sequence_length}) and stride_length "
                       f"({stride_length}) must be >= 1")
    self._client = py_client
    self._tables = [table_name] if isinstance(table_name, str) else list(table_name)
    self._sequence_length = sequence_length
    self._stride_length = stride_length
    self._priority = priority
    self._codec = codec
    self._max_in_flight = max_in_flight_items
    self._writer = py_client.trajectory_writer(num_keep_alive_refs=sequence_length)
    self._steps_in_episode = 0
    self._items_since_flush = 0

  def __call__(self, trajectory) -> None:
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
      if self._items_since_flush >= self._max_in_flight:
        self._writer.flush(block_until_num_items=self._max_in_flight // 2)
        self._items_since_flush = self._max_in_flight // 2
    if bool(np.all(trajectory.is_boundary())):
      self._writer.end_episode(clear_buffers=True)
      self._steps_in_episode = 0
      self._items_since_flush = 0

  def flush(self) -> None:
    """Blocks until every created item is confirmed by the server."""
    self._writer.flush()
    self._items_since_flush = 0

  def reset(self) -> None:
    """Drops the partial episode (e.g. after an environment reset outside the driver)."""
    self._writer.end_episode(clear_buffers=True)
    self._steps_in_episode = 0

  def close(self) -> None:
    try:
      self._writer.close()
    except Exception as e:  # pylint: disable=broad-except
      logging.warning("closing the Reverb writer failed: %s", e)
