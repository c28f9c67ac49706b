"""Small JSON status files the roles write and the launcher's progress display reads.

Each role writes `<root>/status/<name>.json` at most every `interval_s` seconds
(atomically: write then rename), so the launcher can show aggregated rates without
talking to any process.
"""

import json
import os
import time
from pathlib import Path
from typing import Any, Dict


class StatusWriter:
  """Writes one role's status file, throttled to one write per `interval_s`."""

  def __init__(self, root_dir: str, name: str, interval_s: float = 0.5):
    self._path = Path(root_dir, "status", f"{name}.json")
    self._path.parent.mkdir(parents=True, exist_ok=True)
    self._interval_s = interval_s
    self._last_write = 0.0

  def write(self, force: bool = False, **fields: Any) -> None:
    now = time.time()
    if not force and now - self._last_write < self._interval_s:
      return
    self._last_write = now
    tmp = self._path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(fields, time=now)))
    os.replace(tmp, self._path)


def read_statuses(root_dir: str) -> Dict[str, Dict[str, Any]]:
  """{role name: its last status} for every readable status file under root_dir."""
  statuses = {}
  directory = Path(root_dir, "status")
  if not directory.is_dir():
    return statuses
  for path in directory.glob("*.json"):
    try:
      statuses[path.stem] = json.loads(path.read_text())
    except (OSError, ValueError):
      continue  # being replaced right now; the next poll reads it
  return statuses


class RateMeter:
  """A counter's rate per second between successive `update()` calls (smoothed)."""

  def __init__(self, smoothing: float = 0.5):
    self._last = None
    self._smoothing = smoothing
    self.rate = 0.0

  def update(self, count: float, now: float) -> float:
    if self._last is not None and now > self._last[0] and count >= self._last[1]:
      instant = (count - self._last[1]) / (now - self._last[0])
      self.rate = instant if self.rate == 0.0 else (
          self._smoothing * self.rate + (1 - self._smoothing) * instant)
    self._last = (now, count)
    return self.rate
