"""Sends what C++ libraries (TensorFlow, XLA, Reverb) print on stderr to a log file.

Their INFO lines ignore TF_CPP_MIN_LOG_LEVEL, and they write to file descriptor 2
directly. Inside `native_logs_to(path)` fd 2 points at `path` while Python's
sys.stderr keeps the terminal, so rlrun's own messages and tracebacks still show.
"""

import contextlib
import os
import sys
from pathlib import Path


@contextlib.contextmanager
def native_logs_to(path: Path):
  path.parent.mkdir(parents=True, exist_ok=True)
  sys.stderr.flush()
  saved_fd = os.dup(2)
  saved_stderr = sys.stderr
  with open(path, "a") as log:
    os.dup2(log.fileno(), 2)
    sys.stderr = os.fdopen(os.dup(saved_fd), "w", buffering=1)
    try:
      yield
    finally:
      sys.stderr.flush()
      sys.stderr.close()
      sys.stderr = saved_stderr
      os.dup2(saved_fd, 2)
      os.close(saved_fd)
