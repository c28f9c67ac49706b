"""Turns SIGINT / SIGTERM into a polite stop request that the train loop checks."""

import signal
import threading
from typing import Optional


_ACTIVE = []  # the StopRequests entered and not yet left, outermost first


class StopRequest:
  """A context manager: inside it, the first SIGINT or SIGTERM sets `requested`.

  A second SIGINT raises KeyboardInterrupt, for a user who does not want to wait
  for the final checkpoint. Nested requests share what they hear: one entered
  inside another starts out requested if the outer one was, and a signal sets
  every active one (e.g. a signal during start-up stops the train loop before it
  begins, with a checkpoint).
  """

  def __init__(self):
    self.requested = False
    self.signal_name: Optional[str] = None
    self._previous = {}

  def _handle(self, signum, frame):
    del frame
    if self.requested and signum == signal.SIGINT:
      raise KeyboardInterrupt
    for request in _ACTIVE or [self]:
      request.requested = True
      request.signal_name = signal.Signals(signum).name

  def __enter__(self) -> "StopRequest":
    if _ACTIVE and _ACTIVE[-1].requested:
      self.requested, self.signal_name = True, _ACTIVE[-1].signal_name
    _ACTIVE.append(self)
    if threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGINT, signal.SIGTERM):
        self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def __exit__(self, *exc) -> None:
    if self in _ACTIVE:
      _ACTIVE.remove(self)
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)
    self._previous.clear()
