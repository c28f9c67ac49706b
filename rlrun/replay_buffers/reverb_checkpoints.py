"""Replay checkpoints: archiving one beside an agent checkpoint, and checking it reads back.

Reverb's, and LocalReplay's (rlrun.replay_buffers.local_replay) one-file format.

Facts about dm-reverb 0.14 this module relies on:
  * A checkpoint is a directory `<path>/<local-time RFC3339 name>` holding
    tables.tfrecord, items.tfrecord and chunks.tfrecord (zlib TFRecords) and an empty
    DONE written last. Files are never rewritten in place.
  * After each save Reverb deletes every other entry of `<path>`: it keeps one
    checkpoint, and nothing else may live there.
  * At start a server loads the newest DONE checkpoint of `<path>`, else its
    `fallback_checkpoint_path`; a missing or partial fallback loads as an empty
    table *without an error*, and a checkpoint whose chunks are missing loads only
    some items. So a checkpoint is verified (every record's CRC, every referenced
    chunk present, the item count recorded at save time) before it is loaded.
"""

import json
import os
import shutil
from typing import Dict, Optional

from rlrun.replay_buffers import local_replay

FILES = ("tables.tfrecord", "items.tfrecord", "chunks.tfrecord")
DONE = "DONE"
MANIFEST = "manifest.json"


class ReplayCheckpointError(ValueError):
  """A replay checkpoint that would not load completely; the message says why."""


def _link_or_copy(source: str, target: str) -> None:
  try:
    os.link(source, target)
  except OSError:  # another file system, or links not allowed
    shutil.copy2(source, target)


def archive(source: str, target: str, items: Optional[Dict[str, int]] = None) -> Dict[str, int]:
  """Keeps the replay checkpoint `source` as `target` (hard links; DONE and manifest last).

  Args:
    source: a checkpoint just written (Reverb's, or a LocalReplay's).
    target: where to keep it.
    items: {table: item count} it holds, when the caller knows (nothing was inserted
      while it was written); otherwise counted from its items file. Restoring checks
      the checkpoint against this count, so a file cut at a record boundary is caught.

  Returns:
    The item counts recorded in the manifest.

  Raises:
    ReplayCheckpointError: when `source` is incomplete or unreadable.
  """
  sizes = items if items is not None else count_items(source)
  tmp = f"{target}.tmp"
  shutil.rmtree(tmp, ignore_errors=True)
  os.makedirs(tmp)
  names = FILES
  if local_replay.is_local(source):  # its file and whatever the run saved beside it
    names = [n for n in os.listdir(source) if n not in (DONE, MANIFEST) and not n.startswith(".")]
  for name in names:
    _link_or_copy(os.path.join(source, name), os.path.join(tmp, name))
  with open(os.path.join(tmp, MANIFEST), "w") as f:
    json.dump({"items": sizes}, f)
  open(os.path.join(tmp, DONE), "w").close()
  shutil.rmtree(target, ignore_errors=True)
  os.rename(tmp, target)
  return sizes


def count_items(directory: str) -> Dict[str, int]:
  """{table: items} of a checkpoint, from its items file alone (cheaper than `verify`)."""
  name = os.path.basename(os.path.normpath(directory))
  if local_replay.is_local(directory):  # LocalReplay.save wrote its counts
    try:
      with open(os.path.join(directory, MANIFEST)) as f:
        return json.load(f)["items"]
    except (OSError, ValueError, KeyError) as e:
      raise ReplayCheckpointError(f"replay checkpoint {name}: unreadable {MANIFEST}") from e
  from reverb.cc import schema_pb2
  from reverb.cc.checkpointing import checkpoint_pb2
  for file in (DONE,) + FILES:
    if not os.path.isfile(os.path.join(directory, file)):
      raise ReplayCheckpointError(f"replay checkpoint {name} has no {file}")
  counts: Dict[str, int] = {}
  try:
    for record in _records(os.path.join(directory, "tables.tfrecord")):
      table = checkpoint_pb2.PriorityTableCheckpoint()
      table.ParseFromString(record)
      counts.setdefault(table.table_name, 0)
    for record in _records(os.path.join(directory, "items.tfrecord")):
      item = schema_pb2.PrioritizedItem()
      item.ParseFromString(record)
      counts[item.table] = counts.get(item.table, 0) + 1
  except Exception as e:  # pylint: disable=broad-except
    raise ReplayCheckpointError(f"replay checkpoint {name} is unreadable ({type(e).__name__})") from e
  return counts


def _records(path: str):
  import tensorflow as tf
  return (r.numpy() for r in tf.data.TFRecordDataset(path, compression_type="ZLIB"))


def verify(directory: str, expected: Optional[Dict[str, int]] = None) -> Dict[str, int]:
  """Checks that the Reverb checkpoint in `directory` would load completely.

  Args:
    directory: a checkpoint directory.
    expected: {table: item count} it must hold (default: its manifest's, if any).

  Returns:
    {table name: item count}.

  Raises:
    ReplayCheckpointError: naming what is missing or unreadable.
  """
  if local_replay.is_local(directory):
    try:
      return local_replay.verify(directory, expected)
    except ValueError as e:
      raise ReplayCheckpointError(str(e)) from e
  from reverb.cc import schema_pb2
  from reverb.cc.checkpointing import checkpoint_pb2
  name = os.path.basename(os.path.normpath(directory))
  for file in (DONE,) + FILES:
    if not os.path.isfile(os.path.join(directory, file)):
      raise ReplayCheckpointError(f"replay checkpoint {name} has no {file}")
  if expected is None and os.path.isfile(os.path.join(directory, MANIFEST)):
    try:
      with open(os.path.join(directory, MANIFEST)) as f:
        expected = json.load(f)["items"]
    except (OSError, ValueError, KeyError) as e:
      raise ReplayCheckpointError(f"replay checkpoint {name}: unreadable {MANIFEST} ({e})") from e
  tables, counts, needed, present = set(), {}, set(), set()
  try:
    for record in _records(os.path.join(directory, "tables.tfrecord")):
      table = checkpoint_pb2.PriorityTableCheckpoint()
      table.ParseFromString(record)
      if not (table.sampler.WhichOneof("distribution") and
              table.remover.WhichOneof("distribution")):
        raise ReplayCheckpointError(f"replay checkpoint {name}: table {table.table_name!r} "
                                    "has no sampler or remover")
      tables.add(table.table_name)
    for record in _records(os.path.join(directory, "items.tfrecord")):
      item = schema_pb2.PrioritizedItem()
      item.ParseFromString(record)
      counts[item.table] = counts.get(item.table, 0) + 1
      for column in item.flat_trajectory.columns:
        needed.update(s.chunk_key for s in column.chunk_slices)
    for record in _records(os.path.join(directory, "chunks.tfrecord")):
      chunk = schema_pb2.ChunkData()
      chunk.ParseFromString(record)
      present.add(chunk.chunk_key)
  except ReplayCheckpointError:
    raise
  except Exception as e:  # pylint: disable=broad-except  (DataLossError, DecodeError, ...)
    first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
    raise ReplayCheckpointError(f"replay checkpoint {name} is unreadable ({first})") from e
  if not tables:
    raise ReplayCheckpointError(f"replay checkpoint {name} holds no table")
  if needed - present:
    raise ReplayCheckpointError(f"replay checkpoint {name} lacks {len(needed - present)} of the "
                                "chunks its items refer to")
  sizes = {table: counts.get(table, 0) for table in sorted(tables)}
  if expected is not None and any(sizes.get(t) != n for t, n in expected.items()):
    raise ReplayCheckpointError(f"replay checkpoint {name} holds {sizes} items, its manifest "
                                f"says {expected}")
  return sizes


def clear_live(directory: str) -> None:
  """Empties Reverb's own checkpoint directory (before a server loads an archived one)."""
  if os.path.isdir(directory):
    for entry in os.scandir(directory):
      if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path, ignore_errors=True)
      else:
        os.remove(entry.path)
