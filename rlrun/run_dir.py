"""The run directory: its layout, metadata, and the checks that protect existing runs."""

import datetime
import fcntl
import json
import os
import platform
import socket
import sys
from pathlib import Path
from typing import Any, Dict, Optional

from rlrun.errors import UserError

RUN_FILE = "run.json"


class RunDirectory:
  """Paths and metadata of one run (`--root-dir`).

  Layout: run.json, config.gin (what was asked), operative_config.gin (what was
  used), train/ and eval/ (TensorBoard), checkpoints/, replay/, policies/, videos/.
  """

  def __init__(self, root: str):
    self.root = Path(root).expanduser().absolute()
    self._lock_file = None

  def path(self, *parts: str) -> Path:
    return self.root.joinpath(*parts)

  def metadata(self) -> Optional[Dict[str, Any]]:
    run_file = self.path(RUN_FILE)
    if not run_file.is_file():
      return None
    try:
      return json.loads(run_file.read_text())
    except (OSError, ValueError) as e:
      raise UserError(f"{run_file} is unreadable ({e}); restore it or choose another --root-dir")

  def check_can_train(self, config_name: str) -> None:
    """Refuses a root dir that is a file, or holds another config's run, or foreign files.

    Raises:
      UserError: with the reason and the fix.
    """
    if self.root.exists() and not self.root.is_dir():
      raise UserError(f"--root-dir {self.root} is a file, not a directory; choose another path")
    meta = self.metadata()
    if meta is not None:
      if meta.get("config") != config_name:
        raise UserError(f"{self.root} holds a run of config '{meta.get('config')}', not "
                        f"'{config_name}'; choose another --root-dir (or remove that run)")
      return
    # A launcher of distributed training creates these before the learner writes run.json.
    own = {".lock", "logs", "status", "replay"}
    if self.root.is_dir() and any(p.name not in own for p in self.root.iterdir()):
      raise UserError(f"{self.root} is not empty and holds no rlrun run ({RUN_FILE} missing); "
                      "choose an empty or new --root-dir")

  def finished_step(self, num_iterations: int) -> Optional[int]:
    """The step of the checkpoint a resume would start from, when it is the end; else None.

    Raises:
      UserError: when the run holds checkpoints and none of them reads back.
    """
    from rlrun.train.checkpointer import committed_numbers, select
    committed = committed_numbers(str(self.path("checkpoints")))
    if committed and committed[-1] < num_iterations:
      return None  # not finished, whichever checkpoint reads back (the build checks them)
    selection = select(str(self.path("checkpoints")))
    if selection is not None and selection.number >= num_iterations:
      return selection.number
    return None

  def finished_text(self, step: int, num_iterations: int) -> str:
    """What a rerun of a finished run says (it changes nothing)."""
    return (f"rlrun: the run in {self.root} is already finished at step {step} "
            f"(num_iterations={num_iterations}); raise train.Experiment.num_iterations with "
            "--gin-param to train further\n")

  def lock(self) -> None:
    """Takes an exclusive lock so two processes never train in one directory."""
    try:
      self.root.mkdir(parents=True, exist_ok=True)
      self._lock_file = open(self.path(".lock"), "a")  # "a": never touch an existing file
    except OSError as e:
      raise UserError(f"cannot create or write --root-dir {self.root}: {e.strerror or e}; "
                      "choose a writable place") from None
    try:
      fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      raise UserError(f"another rlrun process is training in {self.root}; wait for it or "
                      "choose another --root-dir") from None

  def unlock(self) -> None:
    if self._lock_file is not None:
      self._lock_file.close()  # closing releases the flock
      self._lock_file = None

  def write_metadata(self, config_name: str, config_path: str, seed: Any, argv,
                     bindings=(), config_changes=()) -> None:
    """Records this session; the run's seed stays the first session's (each session has its own)."""
    meta = self.metadata() or {}
    import tensorflow as tf
    from importlib.metadata import version
    from rlrun import __version__
    session = {"command": " ".join(argv), "start_time": _now(), "seed": seed,
               "bindings": list(bindings), "pid": os.getpid(), "host": socket.gethostname()}
    if config_changes:
      session["config_changes"] = list(config_changes)
    meta.update({
        "config": config_name, "config_path": config_path, "seed": meta.get("seed", seed),
        "versions": {"rlrun": __version__, "tensorflow": tf.__version__,
                     "dm-reverb": version("dm-reverb"), "python": platform.python_version()},
        "command": session["command"], "start_time": meta.get("start_time", session["start_time"]),
        "sessions": meta.get("sessions", []) + [session],
    })
    self._write(RUN_FILE, json.dumps(meta, indent=1) + "\n")

  def record_end(self, state: str, step: int, error: Optional[str] = None) -> None:
    """Notes how this session ended (finished, interrupted, failed) in run.json's sessions.

    Best effort: a run whose disk is full still ends with its own message.
    """
    try:
      meta = self.metadata()
      if not meta or not meta.get("sessions"):
        return
      end = {"state": state, "step": step, "time": _now()}
      if error:
        end["error"] = error
      meta["sessions"][-1]["end"] = end
      self._write(RUN_FILE, json.dumps(meta, indent=1) + "\n")
    except (OSError, UserError):
      pass

  def write_text(self, name: str, text: str) -> None:
    self._write(name, text)

  def _write(self, name: str, text: str) -> None:
    target = self.path(name)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, target)


def _now() -> str:
  return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def argv() -> list:
  return [os.path.basename(sys.argv[0])] + sys.argv[1:]
