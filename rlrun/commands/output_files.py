"""Output files the commands write (plots, CSVs, exports): checked before any work, written
whole or not at all."""

import os
from pathlib import Path
from typing import Callable, Optional, Sequence

from rlrun.errors import UserError

RUN_FILE = "run.json"
RUN_STATE = ("policies", "checkpoints", "replay", "eval", "train")  # rlrun writes these


def refuse_run_state(option: str, given: str, target: Path) -> None:
  """Refuses an output inside the parts of a run directory rlrun writes (policies/,
  checkpoints/, replay/, eval/, train/), whichever run it belongs to: rlrun replaces or
  reads back what is there, and a stray file can break a resume or an evaluation."""
  where = target.expanduser().resolve()
  for directory in where.parents:  # every enclosing run, a run nested in another's too
    if (os.path.isfile(directory / RUN_FILE) or
        os.path.isfile(directory / "eval" / "results.jsonl")):
      for name in RUN_STATE:
        place = directory / name
        if where == place or place in where.parents:
          raise UserError(f"{option} {given} is inside {place}, which rlrun writes; write "
                          f"it elsewhere, e.g. in {directory} itself")


def checked_output(option: str, given: str, suffixes: Optional[Sequence[str]] = None,
                   example: str = "plot") -> Path:
  """The file `given` names; refuses a directory, a wrong suffix or an unwritable place.

  Nothing is created here: a command that fails later leaves no trace.
  """
  target = Path(given).expanduser().absolute()
  try:
    if target.is_dir():
      raise UserError(f"{option} {given} is a directory; pass a file name such as "
                      f"{target / (example + (suffixes or ('.csv',))[0])}")
    if suffixes and target.suffix.lower() not in suffixes:
      wanted = (f"a {suffixes[0]}" if len(suffixes) == 1 else
                f"a {', '.join(suffixes[:-1])} or {suffixes[-1]}")
      raise UserError(f"{option} {given}: use {wanted} file name")
    existing = target.parent
    while not existing.exists():
      if existing.is_symlink():
        raise UserError(f"cannot write {option} {given} ({existing} is a broken link); "
                        "choose another place")
      existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK) or (
        target.exists() and not os.access(target, os.W_OK)):
      reason = "not a directory" if not existing.is_dir() else "permission denied"
      raise UserError(f"cannot write {option} {given} ({existing}: {reason}); choose a "
                      "writable place")
  except OSError as e:  # e.g. a name too long for the file system
    raise UserError(f"cannot write {option} {given}: {e.strerror or e}; choose another "
                    "name") from None
  refuse_run_state(option, given, target)
  return target


def write_atomically(target: Path, write: Callable[[Path], None]) -> None:
  """Writes through a partial file renamed at the end: never a half-written target, and no
  directory left behind that the write created when it fails."""
  partial = target.with_name(f".rlrun-{os.getpid()}.partial{target.suffix}")
  missing = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
  try:
    target.parent.mkdir(parents=True, exist_ok=True)
    write(partial)
    os.replace(partial, target)
  except OSError as e:
    raise UserError(f"cannot write {target}: {e.strerror or e}; choose a writable place") from None
  finally:
    partial.unlink(missing_ok=True)
    if not target.exists():
      remove_empty(missing)


def remove_empty(directories: Sequence[Path]) -> None:
  """Removes the directories a failed write created (innermost first) while they are empty."""
  for directory in directories:
    try:
      directory.rmdir()
    except OSError:
      break
