"""Sends what C++ libraries (TensorFlow, XLA, Reverb) print on stderr to a log file.

Their INFO lines ignore TF_CPP_MIN_LOG_LEVEL, and they write to file descriptor 2
directly. Inside `native_logs_to(path)` fd 2 points at `path` while Python's
sys.stderr keeps the terminal, so rlrun's own messages and tracebacks still show.
`native_logs_to(None)` holds the lines in a temporary file until `keep_in(path)`
(a command that may still fail must not append to an existing run's logs).
"""

import contextlib
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Optional

from absl import logging as absl_logging


class NativeLog:
  """Where fd 2 points now; `keep_in(path)` moves what was held there and continues there."""

  def __init__(self, log):
    self._log = log

  def keep_in(self, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    target = open(path, "a")
    self._log.flush()
    self._log.seek(0)
    target.write(self._log.read())
    target.flush()
    os.dup2(target.fileno(), 2)
    self._log.close()
    self._log = target

  def close(self) -> None:
    self._log.close()


def _move_log_handlers(old_stream, new_stream) -> None:
  """Logging handlers made while sys.stderr was `old_stream` (absl's, on its first use) write
  to `new_stream` instead, so logging after the block does not hit a closed file."""
  handlers = list(logging.root.handlers) + [absl_logging.get_absl_handler().python_handler]
  for handler in handlers:
    if isinstance(handler, logging.StreamHandler) and handler.stream is old_stream:
      handler.setStream(new_stream)


@contextlib.contextmanager
def native_logs_to(path: Optional[Path]):
  if path is not None:
    path.parent.mkdir(parents=True, exist_ok=True)
  sys.stderr.flush()
  saved_fd = os.dup(2)
  saved_stderr = sys.stderr
  log = NativeLog(open(path, "a") if path is not None else tempfile.TemporaryFile("w+"))
  os.dup2(log._log.fileno(), 2)  # pylint: disable=protected-access
  sys.stderr = os.fdopen(os.dup(saved_fd), "w", buffering=1)
  try:
    yield log
  finally:
    terminal = sys.stderr
    terminal.flush()
    _move_log_handlers(terminal, saved_stderr)
    terminal.close()
    sys.stderr = saved_stderr
    os.dup2(saved_fd, 2)
    os.close(saved_fd)
    log.close()
