"""POSIX process groups for supervised children: signalling a group, dying with the parent."""

import ctypes
import os
import signal
import sys
from typing import Callable, Optional

_PR_SET_PDEATHSIG = 1


def describe_exit(returncode: Optional[int]) -> str:
  """'code 3', 'code -9 (SIGKILL)' (killed by a signal), or 'unknown status'."""
  if returncode is None:
    return "unknown status"
  if returncode < 0:
    try:
      return f"code {returncode} ({signal.Signals(-returncode).name})"
    except ValueError:
      return f"code {returncode} (signal {-returncode})"
  return f"code {returncode}"


def signal_group(pid: int, sig: int) -> None:
  """Signals the process group led by `pid` (each child leads its own)."""
  try:
    os.killpg(pid, sig)
  except ProcessLookupError:
    pass
  except PermissionError:  # e.g. the group leader is gone on some platforms
    try:
      os.kill(pid, sig)
    except OSError:
      pass


_prctl = None


def pdeathsig_preexec() -> Optional[Callable[[], None]]:
  """A preexec_fn making the child get SIGKILL when the supervisor dies (Linux), or None.

  SIGKILL, not SIGTERM: a child must not outlive a killed supervisor by the seconds a
  polite stop takes (a learner's final checkpoint). Like any kill -9, that loses only
  the work since the last checkpoint, which is committed atomically.
  """
  global _prctl
  if not sys.platform.startswith("linux"):
    return None
  if _prctl is None:
    try:
      _prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
      return None
    _prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    _prctl.restype = ctypes.c_int
  prctl, parent, sigkill = _prctl, os.getpid(), int(signal.SIGKILL)

  def preexec() -> None:
    prctl(_PR_SET_PDEATHSIG, sigkill, 0, 0, 0)
    if os.getppid() != parent:  # the supervisor died before the request took effect
      os._exit(1)

  return preexec
