"""TCP ports on this machine: a free one to listen on, and waiting for a listener."""

import socket
import time
from typing import Callable, Optional


def free_port(host: str = "127.0.0.1") -> int:
  """A TCP port free right now on `host` (another process may take it before you do)."""
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind((host, 0))
    return s.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float = 30.0,
                  alive: Optional[Callable[[], bool]] = None) -> bool:
  """Waits until something accepts TCP connections on host:port; False on timeout.

  `alive` is checked between attempts; once it returns False, this returns False at
  once. E.g. `alive=lambda: sup.wait("server", timeout=0) is None` gives up when the
  server process has exited.
  """
  deadline = time.monotonic() + timeout
  while True:
    try:
      with socket.create_connection((host, port), timeout=0.5):
        return True
    except OSError:
      pass
    if time.monotonic() >= deadline or (alive is not None and not alive()):
      return False
    time.sleep(0.05)
