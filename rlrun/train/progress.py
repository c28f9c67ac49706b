"""A live progress line on terminals; plain periodic log lines otherwise."""

import sys
import time
from typing import Optional, TextIO


def _format_seconds(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
  """Shows step, iterations/s, last loss and last eval return.

  Args:
    total: the final step.
    start_step: the step training (re)starts from.
    log_interval: steps between lines when the stream is not a terminal.
    stream: where to write (stdout).
    live: force the live line on/off (default: stream.isatty()).
  """

  def __init__(self, total: int, start_step: int = 0, log_interval: int = 200,
               stream: Optional[TextIO] = None, live: Optional[bool] = None):
    self._stream = stream or sys.stdout
    self._live = self._stream.isatty() if live is None else live
    self._total = total
    self._log_interval = max(1, log_interval)
    self._start_step = start_step
    self._last_logged = start_step
    self._start_time = time.perf_counter()
    self._last_draw = 0.0
    self._rate_window = [(self._start_time, start_step)]
    self.loss: Optional[float] = None
    self.eval_return: Optional[float] = None
    self.extra = ""  # e.g. the actors' env steps/s in distributed training
    self._line_open = False

  def rate(self) -> float:
    """Iterations per second over the last few seconds."""
    (t0, s0), (t1, s1) = self._rate_window[0], self._rate_window[-1]
    return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0

  def _status(self, step: int) -> str:
    rate = self.rate()
    eta = (self._total - step) / rate if rate > 0 else 0.0
    loss = f"{self.loss:.4g}" if self.loss is not None else "-"
    ret = f"{self.eval_return:.1f}" if self.eval_return is not None else "-"
    width = len(str(self._total))
    extra = f" | {self.extra}" if self.extra else ""
    return (f"step {step:>{width}}/{self._total} | {rate:7.1f} it/s{extra} | loss {loss} | "
            f"eval return {ret} | elapsed {_format_seconds(time.perf_counter() - self._start_time)}"
            f" | eta {_format_seconds(eta)}")

  def update(self, step: int) -> None:
    now = time.perf_counter()
    self._rate_window.append((now, step))
    while len(self._rate_window) > 2 and now - self._rate_window[0][0] > 5.0:
      self._rate_window.pop(0)
    if self._live:
      if now - self._last_draw >= 0.1 or step >= self._total:
        self._stream.write("\r\033[K" + self._status(step))
        self._stream.flush()
        self._line_open = True
        self._last_draw = now
    elif step // self._log_interval > self._last_logged // self._log_interval or step >= self._total:
      self._last_logged = step
      self._stream.write(self._status(step) + "\n")
      self._stream.flush()

  def message(self, text: str) -> None:
    """Prints a full line without breaking the live status line."""
    if self._line_open:
      self._stream.write("\r\033[K")
      self._line_open = False
    self._stream.write(text + "\n")
    self._stream.flush()

  def close(self) -> None:
    if self._line_open:
      self._stream.write("\n")
      self._stream.flush()
      self._line_open = False
