"""Triggers: callables(step) that act every `interval` steps of the counter they are given
(the loop's iterations, in `rlrun train`)."""

import logging
import os
import time
from pathlib import Path
from typing import Callable, Dict, Optional

import tensorflow as tf

from rlrun.train import policy_snapshots


class IntervalTrigger:
  """Calls `fn()` whenever the step crosses a multiple of `interval`.

  Learners advance several steps per call, so "crossing" (not equality) is what
  counts; `force=True` calls `fn` regardless (e.g. at the end of training).
  """

  def __init__(self, interval: int, fn: Callable[[], None], start_step: int = 0):
    if interval < 1:
      raise ValueError(f"trigger interval must be >= 1, got {interval}")
    self._interval = interval
    self._fn = fn
    self._last_step = start_step

  @property
  def interval(self) -> int:
    return self._interval

  def reset(self, step: int) -> None:
    self._last_step = step

  def __call__(self, step: int, force: bool = False) -> bool:
    crossed = step // self._interval > self._last_step // self._interval
    if force or crossed:
      self._last_step = step
      self._fn()
      return True
    return False


class PolicySavedModelTrigger(IntervalTrigger):
  """Exports policies as SavedModels under `policies_dir` every `interval` steps.

  Args:
    policies_dir: e.g. <root>/policies.
    savers: name -> PolicySaver ('policy', 'collect_policy', 'greedy_policy').
    interval: steps (of the counter the trigger is called with) between exports.
    snapshots: how many policies/step_<N> copies of 'policy' to keep (0: none).
  """

  def __init__(self, policies_dir: str, savers: Dict[str, "object"], interval: int,
               start_step: int = 0, snapshots: int = 0):
    self._policies_dir = policies_dir
    self._savers = dict(savers)
    self._snapshots = snapshots
    self.saved_at: Optional[int] = None
    super().__init__(interval, self.save, start_step)

  @property
  def savers(self) -> Dict[str, "object"]:
    return dict(self._savers)

  def __call__(self, step: int, force: bool = False) -> bool:
    fired = super().__call__(step, force)
    if fired:
      self.saved_at = step
      policy_snapshots.snapshot(Path(self._policies_dir), step, self._snapshots)
    return fired

  def save(self, step: Optional[int] = None) -> None:
    """Exports every policy now, and snapshots it as of `step` when given (`saved_at` is
    set by the trigger's own calls)."""
    for name, saver in self._savers.items():
      saver.save(os.path.join(self._policies_dir, name))
    if step is not None:
      policy_snapshots.snapshot(Path(self._policies_dir), step, self._snapshots)


class StepPerSecondLogTrigger(IntervalTrigger):
  """Writes `charts/steps_per_sec` every `interval` steps: how fast the counter it is given
  advances, per wall second. The Trainer gives it the loop's iteration, so in a run the
  chart is iterations per second (env steps per second when an iteration collects one step,
  as in the tutorials' configs)."""

  def __init__(self, train_step: tf.Variable, interval: int, summary_writer=None,
               start_step: int = 0):
    self._train_step = train_step
    self._writer = summary_writer
    self._last_time = time.perf_counter()
    self._last_count = start_step
    self.steps_per_sec: Optional[float] = None
    super().__init__(interval, self.log, start_step)

  def log(self) -> None:
    step = int(self._train_step.numpy())
    now = time.perf_counter()
    if now > self._last_time and step > self._last_count:
      self.steps_per_sec = (step - self._last_count) / (now - self._last_time)
      logging.info("step %d: %.1f steps/sec", step, self.steps_per_sec)
      if self._writer is not None:
        with self._writer.as_default(step=step):
          tf.summary.scalar("charts/steps_per_sec", self.steps_per_sec)
    self._last_time, self._last_count = now, step
