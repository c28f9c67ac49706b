"""JobPool: runs `rlrun train` child processes, J at a time, with one combined progress display.

Each child is a normal run in its own run directory, its output appended to its own log.
The first SIGINT / SIGTERM stops starting new children and forwards the signal to the
running ones, which checkpoint and exit as a single run does; a second SIGINT is
forwarded too (a child then stops without waiting for its checkpoint). Children run in
their own sessions, so a terminal's Ctrl-C reaches them once, through the pool.
"""

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional, Protocol, Sequence, TextIO

EXIT_INTERRUPTED = 130
_STEP = re.compile(r"step (\d+)/(\d+)")
_EVAL = re.compile(r"eval (?:return|AverageReturn =) (-?[\d.]+|nan)")
_PLAIN_INTERVAL_S = 30.0


@dataclasses.dataclass
class Job:
  """One child: `rlrun train ARGS` writing into `root`, its output appended to `log`."""
  name: str
  root: Path
  args: List[str]
  log: Path
  process: Optional[subprocess.Popen] = None
  exit_code: Optional[int] = None
  started: Optional[float] = None
  # What the study made of a child it stopped itself (e.g. "pruned"): its state once ended.
  verdict: Optional[str] = None

  @property
  def state(self) -> str:
    if self.exit_code is not None and self.verdict:
      return self.verdict
    if self.exit_code is not None:  # (0 without a process: finished before this study ran)
      return {0: "finished", EXIT_INTERRUPTED: "interrupted", 2: "refused"}.get(self.exit_code,
                                                                               "failed")
    return "queued" if self.process is None else "running"

  def progress(self) -> str:
    """'step/total eval' from the tail of the child's log."""
    try:
      with open(self.log, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
        tail = f.read().decode(errors="replace")
    except OSError:
      return ""
    steps, evals = _STEP.findall(tail), _EVAL.findall(tail)
    text = f"{steps[-1][0]}/{steps[-1][1]}" if steps else ""
    if "already finished" in tail:
      text = "already finished"
    return (text + (f" ({float(evals[-1]):.1f})" if evals else "")).strip()


class Scheduler(Protocol):
  """What feeds a pool jobs as it goes (a tuner asking for trials) and watches them."""

  def more(self, free: int) -> List[Job]:
    """Up to about `free` new jobs to queue ([] when there are none now)."""

  def watch(self, pool: "JobPool") -> None:
    """Called on every poll: may read the children's output and `pool.stop` some."""


class JobPool:
  """Runs `jobs` with at most `parallel` at once; each child gets `threads` TF threads.

  Args:
    jobs: the children, started in order.
    parallel: how many run at once.
    threads: TensorFlow intra-op threads per child (the cores divided among them).
    out: where the combined progress goes (a live line on a terminal, else a status
      line every 30 s and at each child's end).
    scheduler: adds jobs when slots are free and none is queued, and watches them; the
      pool ends when nothing runs and it adds none.
  """

  def __init__(self, jobs: Sequence[Job], parallel: int, threads: int,
               out: Optional[TextIO] = None, scheduler: Optional[Scheduler] = None):
    self.jobs = list(jobs)
    self.scheduler = scheduler
    self.parallel = parallel
    self.threads = threads
    self.out = out or sys.stdout
    self.live = self.out.isatty()
    self.stop_signal: Optional[int] = None
    self._last_plain = 0.0
    self._started = time.monotonic()

  def _start(self, job: Job) -> None:
    job.log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1", TF_NUM_INTRAOP_THREADS=str(self.threads),
               TF_NUM_INTEROP_THREADS=str(self.threads), OMP_NUM_THREADS=str(self.threads))
    with open(job.log, "a") as log:
      log.write(f"\n# {time.strftime('%Y-%m-%d %H:%M:%S')} rlrun train {' '.join(job.args)}\n")
      log.flush()
      job.process = subprocess.Popen([sys.executable, "-m", "rlrun", "train", *job.args],
                                     stdout=log, stderr=subprocess.STDOUT, env=env,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
    job.started = time.monotonic()
    if self.stop_signal is not None:  # arrived while it was being started: pass it on
      job.process.send_signal(self.stop_signal)

  def stop(self, job: Job, verdict: str) -> None:
    """Asks a running child to checkpoint and exit (SIGTERM); its state becomes `verdict`."""
    job.verdict = verdict
    try:
      job.process.send_signal(signal.SIGTERM)
    except ProcessLookupError:
      pass

  def _forward(self, signum, frame) -> None:
    del frame
    self.stop_signal = signum
    for job in self.jobs:
      if job.state == "running":
        try:
          job.process.send_signal(signum)
        except ProcessLookupError:
          pass

  def run(self) -> List[Job]:
    """Runs every job (or, after a stop signal, the running ones to their end)."""
    previous = {s: signal.signal(s, self._forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
      while True:
        running = [j for j in self.jobs if j.state == "running"]
        if self.stop_signal is None:
          free = self.parallel - len(running)
          queued = [j for j in self.jobs if j.state == "queued"]
          if self.scheduler is not None and free > len(queued):
            self.jobs += self.scheduler.more(free - len(queued))
            queued = [j for j in self.jobs if j.state == "queued"]
          for job in queued[:free]:
            if self.stop_signal is not None:  # (a signal during the scheduler's call)
              break
            self._start(job)
        for job in self.jobs:
          if job.state == "running":
            job.exit_code = job.process.poll()
            if job.exit_code is not None:
              self._show(force=True, ended=job)
        if self.scheduler is not None:
          self.scheduler.watch(self)
        if all(j.state != "running" for j in self.jobs) and (
            self.stop_signal is not None or all(j.state != "queued" for j in self.jobs)):
          if self.stop_signal is not None or self.scheduler is None:
            break
          self.jobs += self.scheduler.more(self.parallel)
          if all(j.state != "queued" for j in self.jobs):
            break
        self._show()
        time.sleep(0.25)
    except BaseException:
      # (e.g. the scheduler's storage failing) the children run in sessions of their own:
      # stopped here, they checkpoint; left alone, they would outlive this process.
      for job in self.jobs:
        if job.state == "running":
          job.process.send_signal(signal.SIGTERM)
      raise
    finally:
      for sig, handler in previous.items():
        signal.signal(sig, handler)
      if self.live:
        self.out.write("\n")
    return self.jobs

  def _line(self) -> str:
    counts = {}
    for job in self.jobs:
      counts[job.state] = counts.get(job.state, 0) + 1
    head = ", ".join(f"{n} {state}" for state, n in counts.items())
    parts = [f"{j.name} {j.progress() or j.state}" for j in self.jobs if j.state == "running"]
    elapsed = int(time.monotonic() - self._started)
    return (f"[{head}; {elapsed // 60}:{elapsed % 60:02d}] " + " | ".join(parts)).rstrip()

  def _show(self, force: bool = False, ended: Optional[Job] = None) -> None:
    now = time.monotonic()
    if ended is not None:
      what = ended.progress()
      text = f"{ended.name}: {ended.state}{f' at {what}' if what else ''}".replace(
          "finished at already finished", "already finished")
      if ended.state in ("failed", "refused"):
        text += f" (exit {ended.exit_code}; see {ended.log})"
      self.out.write(("\r\033[K" if self.live else "") + text + "\n")
    if self.live:
      width = shutil.get_terminal_size((100, 20)).columns
      self.out.write("\r\033[K" + self._line()[:width - 1])
    elif force or now - self._last_plain >= _PLAIN_INTERVAL_S:
      self.out.write(self._line() + "\n")
      self._last_plain = now
    self.out.flush()
