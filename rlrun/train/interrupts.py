"""Turns SIGINT / SIGTERM into a polite stop request that the train loop checks."""

import signal
import threading
from typing import Optional


class StopRequest:
  """A context manager: inside it, the first SIGINT or SIGTERM sets `requested`.

  A second SIGINT raises KeyboardInterrupt, for a user who does not want to wait
  for the final checkpoint.
  """

  def __init__(self):
    self.requested = False
    self.signal_name: Optional[str] = None
    self._previous = {}

  def _handle(self, signum, frame):
    del frame
    if self.requested and signum == signal.SIGINT:
      raise KeyboardInterrupt
    self.requested = True
    self.signal_name = signal.Signals(signum).name

  def __enter__(self) -> "StopRequest":
    if threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGINT, signal.SIGTERM):
        self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def __exit__(self, *exc) -> None:
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)
    self._previous.clear()
