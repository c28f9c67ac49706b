"""Checkpointer: the agent, its side-state and its replay, saved as one pair that never lies.

Checkpoint N is, in `<root>/checkpoints`:

  replay-N/            the replay checkpoint taken for it (hard links of Reverb's files,
                       a manifest with the item counts, DONE last)
  ckpt-N.index/.data   the TF objects (agent, train step)
  state-N.json         the side-state (metrics, RNG state, evaluations) and the name of
                       its replay checkpoint; written last, atomically: the commit.

A checkpoint counts once state-N.json exists; before that, a kill leaves files that
restore sets aside. Restore does not trust any index file: it takes the newest
checkpoint whose TF tensors, side-state and replay all read back, sets every newer
one aside in `checkpoints/corrupt/` (nothing is deleted) and says so.
"""

import dataclasses
import glob
import json
import os
import re
import shutil
from typing import Any, Dict, List, Optional, Tuple

import tensorflow as tf

from rlrun.errors import UserError
from rlrun.replay_buffers import reverb_checkpoints

_NAME = re.compile(r"^ckpt-(\d+)\.index$")
CORRUPT_DIR = "corrupt"


def _numbers(directory: str) -> List[int]:
  """Numbers of every ckpt-N.index in `directory`, newest first."""
  try:
    names = os.listdir(directory)
  except FileNotFoundError:
    return []
  return sorted((int(m.group(1)) for m in map(_NAME.match, names) if m), reverse=True)


def committed_numbers(directory: str) -> List[int]:
  """The checkpoints that were committed (state-N.json written), oldest first."""
  return sorted(n for n in _numbers(directory)
                if os.path.isfile(os.path.join(directory, f"state-{n}.json")))


@dataclasses.dataclass
class Selection:
  """The checkpoint a run resumes from, and the newer ones that could not be used."""
  number: int
  prefix: str
  state: Dict[str, Any]
  replay: Optional[str]  # its archived replay checkpoint (None: none recorded)
  skipped: List[Tuple[int, str]]  # (number, why), newest first


def _check_tensors(prefix: str) -> None:
  reader = tf.train.load_checkpoint(prefix)
  for name in reader.get_variable_to_dtype_map():
    reader.get_tensor(name)


def check(directory: str, number: int) -> Tuple[Dict[str, Any], Optional[str]]:
  """Reads checkpoint `number` back completely; returns (side-state, replay dir or None).

  Raises:
    ValueError: saying what does not read back.
  """
  prefix = os.path.join(directory, f"ckpt-{number}")
  state_path = os.path.join(directory, f"state-{number}.json")
  if not os.path.isfile(state_path):
    raise ValueError("incomplete (no state file: the save was interrupted)")
  try:
    with open(state_path) as f:
      state = json.load(f)
  except (OSError, ValueError) as e:
    raise ValueError(f"its state file is unreadable ({e})") from e
  try:
    _check_tensors(prefix)
  except Exception as e:  # pylint: disable=broad-except  (DataLossError, OutOfRange, NotFound...)
    first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
    raise ValueError(f"its TF files are unreadable ({first})") from e
  replay = state.get("replay")
  if replay is None:
    return state, None
  replay_dir = os.path.join(directory, replay)
  try:
    reverb_checkpoints.verify(replay_dir)
  except reverb_checkpoints.ReplayCheckpointError as e:
    raise ValueError(str(e)) from e
  return state, replay_dir


def select(directory: str) -> Optional[Selection]:
  """The newest checkpoint that reads back completely (None: the directory holds none).

  Raises:
    UserError: when there are checkpoints and none of them reads back.
  """
  skipped = []
  for number in _numbers(directory):
    try:
      state, replay = check(directory, number)
    except ValueError as e:
      skipped.append((number, str(e)))
      continue
    return Selection(number, os.path.join(directory, f"ckpt-{number}"), state, replay, skipped)
  if skipped:
    reasons = "; ".join(f"ckpt-{n}: {why}" for n, why in skipped)
    raise UserError(f"no checkpoint in {directory} reads back ({reasons}); move them away to "
                    "start this run over, or choose another --root-dir")
  return None


def _files_of(directory: str, number: int) -> List[str]:
  return (glob.glob(os.path.join(directory, f"ckpt-{number}.*")) +
          glob.glob(os.path.join(directory, f"state-{number}.json*")) +
          glob.glob(os.path.join(directory, f"replay-{number}")) +
          glob.glob(os.path.join(directory, f"replay-{number}.tmp")))


def set_aside(directory: str, numbers) -> str:
  """Moves the files of checkpoints `numbers` into <directory>/corrupt/; returns that path."""
  target = os.path.join(directory, CORRUPT_DIR)
  for number in numbers:
    files = _files_of(directory, number)
    if not files:
      continue
    os.makedirs(target, exist_ok=True)
    for path in files:
      destination = os.path.join(target, os.path.basename(path))
      if os.path.exists(destination):  # set aside before: keep both
        index = 1
        while os.path.exists(f"{destination}.{index}"):
          index += 1
        destination = f"{destination}.{index}"
      shutil.move(path, destination)
  return target


def describe_fallback(selection: Selection, directory: str) -> str:
  """The one line a resume prints when it had to pass over newer checkpoints."""
  skipped = ", ".join(f"ckpt-{n} ({why})" for n, why in selection.skipped)
  return (f"rlrun: passed over {skipped}; set aside in "
          f"{os.path.join(directory, CORRUPT_DIR)}; resuming from ckpt-{selection.number}")


def replay_server_start(selection: Optional[Selection]) -> Dict[str, Any]:
  """ReplayServer's arguments that load the replay paired with `selection`."""
  if selection is None:
    return {"fresh": True}  # no checkpoint: a replay left by a killed session is not this run's
  return {"load_from": selection.replay}  # None (older runs): Reverb's newest


def make_checkpointer(root_dir: str, parts=None) -> "Checkpointer":
  """The run's Checkpointer on <root>/checkpoints (of `parts`' agent and train step, if given)."""
  trackables = {} if parts is None else {"agent": parts.agent, "train_step": parts.train_step}
  return Checkpointer(os.path.join(root_dir, "checkpoints"), **trackables)


class Checkpointer:
  """Saves and restores `trackables` with their side-state and replay as one checkpoint.

  Args:
    directory: e.g. <root>/checkpoints.
    max_to_keep: how many checkpoints to keep (each with its replay).
    **trackables: the objects to save (agent, train_step, ...).
  """

  def __init__(self, directory: str, max_to_keep: int = 3, **trackables: Any):
    self._directory = directory
    self._max_to_keep = max(1, max_to_keep)
    self._checkpoint = tf.train.Checkpoint(**trackables)
    self._selection: Optional[Selection] = None
    self._selected = False
    self.notes: List[str] = []

  @property
  def directory(self) -> str:
    return self._directory

  @property
  def latest(self) -> Optional[str]:
    """The newest committed checkpoint's prefix (no read-back check)."""
    numbers = committed_numbers(self._directory)
    return os.path.join(self._directory, f"ckpt-{numbers[-1]}") if numbers else None

  def save(self, number: int, state: Optional[Dict[str, Any]] = None,
           replay_source: Optional[str] = None,
           replay_items: Optional[Dict[str, int]] = None) -> str:
    """Writes checkpoint `number`: replay archive, TF objects, then the state file (the commit).

    Args:
      number: the checkpoint's number (the loop's iteration).
      state: JSON-serialisable side-state.
      replay_source: a Reverb checkpoint directory to keep as this checkpoint's replay.
      replay_items: {table: items} it holds, when known (else counted from its files).

    Returns:
      The TF prefix <directory>/ckpt-<number>.
    """
    os.makedirs(self._directory, exist_ok=True)
    state = dict(state or {})
    # A checkpoint of the same number (an earlier session's, or one set aside) is replaced.
    stale = os.path.join(self._directory, f"state-{number}.json")
    if os.path.exists(stale):
      os.remove(stale)
    if replay_source is not None:
      name = f"replay-{number}"
      reverb_checkpoints.archive(replay_source, os.path.join(self._directory, name), replay_items)
      state["replay"] = name
    prefix = self._checkpoint.write(os.path.join(self._directory, f"ckpt-{number}"))
    tmp = f"{stale}.tmp"
    with open(tmp, "w") as f:
      json.dump(state, f)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, stale)
    self._prune(number)
    self._selected = False  # a later restore() chooses among what is there now
    return prefix

  def select(self) -> Optional[Selection]:
    """Chooses the checkpoint to resume from (once); changes nothing on disk."""
    if not self._selected:
      self._selection = select(self._directory)
      self._selected = True
    return self._selection

  def set_aside_skipped(self) -> None:
    """Moves the newer unreadable checkpoints the selection passed over to corrupt/ (once)."""
    selection = self.select()
    if selection is not None and selection.skipped:
      set_aside(self._directory, [n for n, _ in selection.skipped])
      self.notes.append(describe_fallback(selection, self._directory))
      selection.skipped = []

  def restore(self) -> Tuple[Optional[int], Dict[str, Any]]:
    """Restores the selected checkpoint; returns (its number, its side-state) or (None, {}).

    Raises:
      UserError: when the checkpoint's variables do not fit the objects (e.g. the
        network changed since it was written).
    """
    selection = self.select()
    if selection is None:
      return None, {}
    self.set_aside_skipped()
    try:
      self._checkpoint.read(selection.prefix).assert_existing_objects_matched()
    except (ValueError, AssertionError, tf.errors.OpError) as e:
      first = str(e).strip().splitlines()[0][:200]
      raise UserError(f"checkpoint ckpt-{selection.number} in {self._directory} does not fit this "
                      f"config's agent ({first}); was the network or agent changed? Use the "
                      "config the run was started with, or another --root-dir") from e
    return selection.number, selection.state

  def _prune(self, newest: int) -> None:
    """Removes committed checkpoints beyond max_to_keep, and uncommitted leftovers."""
    committed = committed_numbers(self._directory)
    keep = set(committed[-self._max_to_keep:]) | {newest}
    for number in set(_numbers(self._directory)) - keep:
      if number < newest:
        for path in _files_of(self._directory, number):
          shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    for path in glob.glob(os.path.join(self._directory, "replay-*")):
      match = re.match(r"^replay-(\d+)(\.tmp)?$", os.path.basename(path))
      if match and int(match.group(1)) not in keep:
        shutil.rmtree(path, ignore_errors=True)
