"""The progress of a run: a live tqdm bar on terminals; plain periodic log lines otherwise."""

import shutil
import sys
import time
from typing import Dict, Optional, TextIO, Union


def _format_seconds(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def format_losses(loss: Union[None, float, Dict[str, float]]) -> str:
  """'loss 0.25' or 'loss 1.2 (critic 0.9, actor -3.1)'; 'loss -' before the first."""
  if loss is None:
    return "loss -"
  if not isinstance(loss, dict):
    return f"loss {loss:.4g}"
  parts = [f"{name} {value:.4g}" for name, value in loss.items() if name != "loss"]
  return f"loss {loss.get('loss', float('nan')):.4g}" + (f" ({', '.join(parts)})" if parts else "")


class Progress:
  """Shows step, iterations/s, the losses (each part labelled) and the last eval return.

  On a terminal: one tqdm bar that fits the terminal's width (and follows its resizing);
  elsewhere: a plain line every `log_interval` steps.

  Args:
    total: the final step.
    start_step: the step training (re)starts from.
    log_interval: steps between lines when the stream is not a terminal.
    stream: where to write (stdout).
    live: force the live bar on/off (default: stream.isatty()).
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
    self._rate_window = [(self._start_time, start_step)]
    self.loss: Union[None, float, Dict[str, float]] = None
    self.eval_return: Optional[float] = None
    self.extra = ""  # e.g. the actors' env steps/s in distributed training
    self._bar = None
    if self._live:
      from tqdm import tqdm
      # A real terminal: follow its width as it is resized. Anything else that asked for a
      # live bar: the width of $COLUMNS (else 100).
      terminal = self._stream.isatty()
      self._bar = tqdm(total=total, initial=start_step, file=self._stream,
                       dynamic_ncols=terminal,
                       ncols=None if terminal else shutil.get_terminal_size((100, 20)).columns,
                       unit="it", mininterval=0.1, smoothing=0.1,
                       bar_format="step {n_fmt}/{total_fmt} {percentage:3.0f}%|{bar}| "
                       "{rate_fmt} [{elapsed}<{remaining}]{postfix}")

  def rate(self) -> float:
    """Iterations per second over the last few seconds."""
    (t0, s0), (t1, s1) = self._rate_window[0], self._rate_window[-1]
    return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0

  def _details(self) -> str:
    ret = f"{self.eval_return:.1f}" if self.eval_return is not None else "-"
    extra = f"{self.extra} | " if self.extra else ""
    return f"{extra}{format_losses(self.loss)} | eval return {ret}"

  def _status(self, step: int) -> str:
    rate = self.rate()
    eta = (self._total - step) / rate if rate > 0 else 0.0
    width = len(str(self._total))
    return (f"step {step:>{width}}/{self._total} | {rate:7.1f} it/s | {self._details()} | "
            f"elapsed {_format_seconds(time.perf_counter() - self._start_time)} | "
            f"eta {_format_seconds(eta)}")

  def update(self, step: int) -> None:
    now = time.perf_counter()
    self._rate_window.append((now, step))
    while len(self._rate_window) > 2 and now - self._rate_window[0][0] > 5.0:
      self._rate_window.pop(0)
    if self._bar is not None:
      self._bar.set_postfix_str(self._details(), refresh=False)
      self._bar.update(step - self._bar.n)
    elif step // self._log_interval > self._last_logged // self._log_interval or step >= self._total:
      self._last_logged = step
      self._stream.write(self._status(step) + "\n")
      self._stream.flush()

  def message(self, text: str) -> None:
    """Prints a full line without breaking the live bar."""
    if self._bar is not None:
      self._bar.write(text, file=self._stream)
    else:
      self._stream.write(text + "\n")
      self._stream.flush()

  def close(self) -> None:
    if self._bar is not None:
      self._bar.close()
      self._bar = None
