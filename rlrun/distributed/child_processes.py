"""One child process of a supervised run: how to start it (ChildSpec) and the handle the
Supervisor watches it through (Process), here on this machine (LocalProcess)."""

import dataclasses
import datetime
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Mapping, Optional, Protocol, Sequence

from rlrun.distributed.process_groups import pdeathsig_preexec, signal_group

_HAS_WAITID = sys.platform.startswith("linux") and hasattr(os, "waitid")


@dataclasses.dataclass
class ChildSpec:
  """How to run one child.

  Args:
    name: unique name, e.g. "learner", "actor_0".
    argv: the command line.
    log_path: the file stdout and stderr are appended to (with a header per start).
    restart: restart it, after a backoff, when it exits non-zero or by a signal.
    critical: its non-zero exit is fatal to the run (reported as a FATAL event).
    env: variables set over the supervisor's environment (None: inherit it).
      PYTHONUNBUFFERED=1 is set unless `env` sets it, so Python output reaches the log
      line by line.
    cwd: working directory (None: the supervisor's).
    max_restarts: this child's restart limit (None: the supervisor's).
    stop_timeout: seconds between SIGTERM and SIGKILL in stop() (None: the supervisor's).
    stop_stage: shutdown() stops children stage by stage, lowest first.
  """
  name: str
  argv: Sequence[str]
  log_path: Path
  restart: bool = False
  critical: bool = False
  env: Optional[Mapping[str, str]] = None
  cwd: Optional[str] = None
  max_restarts: Optional[int] = None
  stop_timeout: Optional[float] = None
  stop_stage: int = 0


class Process(Protocol):
  """A started child, wherever it runs (a remote child's pid is on its own node)."""
  pid: int
  where: str  # "" for this machine, else e.g. " on node 10.0.0.2"

  def exit_code(self) -> Optional[int]:
    """Its exit code once it has exited (reaping it), else None; negative: a signal."""

  def signal(self, sig: int) -> None:
    """Sends `sig` to its process group."""


class LocalProcess:
  """A child process of this one, in a session (process group) of its own."""
  where = ""

  def __init__(self, spec: ChildSpec, header: str):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.update(spec.env or {})
    Path(spec.log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(spec.log_path, "a", buffering=1, encoding="utf-8") as log:
      log.write(header)
      log.flush()
      self._popen = subprocess.Popen(
          list(spec.argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
          env=env, cwd=spec.cwd, start_new_session=True, preexec_fn=pdeathsig_preexec())
    self.pid = self._popen.pid

  def exit_code(self) -> Optional[int]:
    proc = self._popen
    if proc.returncode is not None:
      return proc.returncode
    if _HAS_WAITID:
      try:  # look without reaping, so the pid (and its process group id) stays ours
        exited = os.waitid(os.P_PID, proc.pid,
                           os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
      except ChildProcessError:
        exited = True
      if not exited:
        return None
      signal_group(proc.pid, signal.SIGKILL)  # helpers it left in its group
      return proc.wait()
    return proc.poll()

  def signal(self, sig: int) -> None:
    if self._popen.returncode is None:
      signal_group(self._popen.pid, sig)


def start_header(spec: ChildSpec, restart: str) -> str:
  """The line a child's log gets before each start."""
  command = shlex.join(spec.argv).replace("\n", "\\n")  # the header is one line
  return f"==== {timestamp()} start {spec.name}{restart}: {command}\n"


def timestamp() -> str:
  return datetime.datetime.now().isoformat(sep=" ", timespec="milliseconds")
