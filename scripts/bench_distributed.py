"""Benchmark: distributed SAC Minitaur, throughput against the number of actors.

For each setting (single-process `rlrun train` as the reference, then `--actors N` for each
N in --actors) and each of --runs runs, this starts `rlrun train --config sac_minitaur.gin`
in a fresh run directory (a short random initial collect; evaluation and policy export
pushed past the window), waits until training has run for --warmup seconds, then measures
over --window seconds:
  * learner train steps/s (the learner's status file; single process: its progress lines);
  * env steps/s collected, summed over the actors (their status files; single process: one
    env step per train step);
  * the CPU each process used (utime + stime from /proc) over the window, as cores busy.
Then it stops the run with SIGTERM. Runs alternate between settings; medians go to
BENCHMARKS.md, with ratios against the single-process run of the same invocation.

Usage:
  python scripts/bench_distributed.py                        # 1, 2, 4 actors, 3 runs each
  python scripts/bench_distributed.py --runs 1 --window 15   # a quick check
"""

import argparse
import json
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from benchmarks_md import replace_section

REPO = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROGRESS = re.compile(r"^step\s+(\d+)/\d+ \|")


def cpu_seconds(pid: int) -> Optional[float]:
  """utime + stime of a live process, in seconds (None once it is gone)."""
  try:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
  except OSError:
    return None
  return (int(fields[11]) + int(fields[12])) / CLK_TCK


def read_json(path: Path) -> dict:
  try:
    return json.loads(path.read_text())
  except (OSError, ValueError):
    return {}


class Run:
  """One `rlrun train` process and what can be read from it while it runs.

  `extra`: more arguments (e.g. --ray ADDRESS or bindings) after the benchmark's own.
  """

  def __init__(self, actors: int, args: argparse.Namespace, workdir: Path,
               config: str = "sac_minitaur.gin", extra: Sequence[str] = ()):
    self.actors = actors
    self.root = workdir / (f"actors{actors}" if actors else "single")
    argv = [sys.executable, "-m", "rlrun", "train", "--config", config,
            "--root-dir", str(self.root)]
    for binding in ("train.Experiment.num_iterations=1000000",
                    f"train.Experiment.initial_collect_steps={args.initial_collect_steps}",
                    "train.Experiment.eval_interval=0", "train.Experiment.log_interval=8",
                    "train.Experiment.policy_save_interval=1000000",
                    "train.Experiment.checkpoint_interval=1000000"):
      argv += ["--gin-param", binding]
    if actors:
      argv += ["--actors", str(actors)]
    argv += list(extra)
    self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, cwd=tempfile.gettempdir(),
                                    env=dict(os.environ, PYTHONUNBUFFERED="1"))
    self.lines: List[str] = []
    self.progress: List[tuple] = []  # (time, step) of single-process progress lines
    threading.Thread(target=self._read, daemon=True).start()

  def _read(self) -> None:
    for line in self.process.stdout:
      self.lines.append(line)
      match = PROGRESS.match(line)
      if match:
        self.progress.append((time.time(), int(match.group(1))))

  def step(self) -> Optional[int]:
    if self.actors:
      return read_json(self.root / "status" / "learner.json").get("step")
    return self.progress[-1][1] if self.progress else None

  def env_steps(self) -> int:
    if not self.actors:
      return self.step() or 0
    return sum(int(read_json(self.root / "status" / f"actor_{i}.json").get("env_steps", 0))
               for i in range(self.actors))

  def pids(self) -> Dict[str, int]:
    if not self.actors:
      return {"rlrun train": self.process.pid}
    log = self.root / "logs" / "launcher.log"
    pids = {"launcher": self.process.pid}
    if log.is_file():
      for name, pid in re.findall(r"(\S+) (?:re)?started \(pid (\d+)", log.read_text()):
        pids[name] = int(pid)  # the latest start of each
    return pids

  def stop(self) -> None:
    if self.process.poll() is None:
      self.process.send_signal(signal.SIGTERM)
    try:
      self.process.wait(timeout=300)
    except subprocess.TimeoutExpired:
      self.process.kill()
      self.process.wait()


def _wait_for_training(run: Run, timeout: float) -> None:
  deadline = time.time() + timeout
  while time.time() < deadline:
    if run.process.poll() is not None:
      raise RuntimeError("rlrun train exited early:\n" + "".join(run.lines[-30:]))
    step = run.step()
    if step is not None and step > 0:
      return
    time.sleep(0.5)
  raise RuntimeError(f"training did not start within {timeout} s")


def measure(actors: int, args: argparse.Namespace, config: str = "sac_minitaur.gin",
            extra: Sequence[str] = (), during=None) -> dict:
  """Throughput and cores of one run; `during(run)` is called inside the window."""
  with tempfile.TemporaryDirectory(prefix="bench-distributed-") as workdir:
    run = Run(actors, args, Path(workdir), config, extra)
    try:
      _wait_for_training(run, timeout=600)
      time.sleep(args.warmup)
      pids = run.pids()
      t0, step0, env0 = time.time(), run.step(), run.env_steps()
      cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
      extras = during(run) if during is not None else {}
      time.sleep(max(0.0, t0 + args.window - time.time()))
      t1, step1, env1 = time.time(), run.step(), run.env_steps()
      cpu1 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    finally:
      run.stop()
  seconds = t1 - t0
  cores = {name: (cpu1[name] - cpu0[name]) / seconds for name in pids
           if cpu0[name] is not None and cpu1[name] is not None}
  return {"actors": actors, "train_steps_per_s": (step1 - step0) / seconds,
          "env_steps_per_s": (env1 - env0) / seconds, "cores": cores,
          "cores_total": sum(cores.values()), "loadavg": os.getloadavg()[0], **extras}


def _label(actors: int) -> str:
  return f"{actors} actor{'s' if actors > 1 else ''}" if actors else "single process"


def _role(name: str) -> str:
  return "actors" if name.startswith("actor_") else name


def summarize(rows: List[dict], actors: int) -> dict:
  mine = [r for r in rows if r["actors"] == actors]
  split: Dict[str, List[float]] = {}
  for row in mine:
    per_role: Dict[str, float] = {}
    for name, value in row["cores"].items():
      per_role[_role(name)] = per_role.get(_role(name), 0.0) + value
    for role, value in per_role.items():
      split.setdefault(role, []).append(value)
  return {"train": statistics.median(r["train_steps_per_s"] for r in mine),
          "env": statistics.median(r["env_steps_per_s"] for r in mine),
          "cores": statistics.median(r["cores_total"] for r in mine),
          "split": {role: statistics.median(values) for role, values in split.items()}}


def write_report(path: Path, args: argparse.Namespace, rows: List[dict], settings: List[int]):
  medians = {a: summarize(rows, a) for a in settings}
  base = medians[0]
  lines = [
      "## Distributed SAC Minitaur: throughput against actors (issue 5; "
      "`scripts/bench_distributed.py`)", "",
      f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
      f"{time.strftime('%Y-%m-%d')}; load average before the runs "
      f"{args.loadavg_before:.2f} (the machine is shared). Command:", "",
      "    " + " ".join(shlex.quote(a) for a in ["python", "scripts/bench_distributed.py",
                                                 *sys.argv[1:]]), "",
      f"`rlrun train --config sac_minitaur.gin` (tutorial hyperparameters; initial collect "
      f"{args.initial_collect_steps} steps; no evaluation or export in the window), "
      f"{args.runs} runs per setting alternating, medians. After {args.warmup:g} s of "
      f"training, {args.window:g} s are measured: learner train steps/s, env steps/s summed "
      "over the actors, and each process's CPU (utime + stime) as cores busy. The "
      "distributed runs use the default rate limit: samples per insert = batch 256 x 1 train "
      "step / 1 collect step, the single-process ratio, so one env step per train step on "
      "average.", "",
      "| setting | train steps/s | env steps/s | vs single process (train) | cores busy | "
      "CPU split (cores) |",
      "|---|---|---|---|---|---|"]
  for actors in settings:
    m = medians[actors]
    split = ", ".join(f"{role} {value:.2f}" for role, value in
                      sorted(m["split"].items(), key=lambda kv: -kv[1]))
    lines.append(f"| {_label(actors)} | {m['train']:.1f} | {m['env']:.1f} | "
                 f"{m['train'] / base['train']:.2f}x | {m['cores']:.2f} | {split} |")
  lines += ["", "Per run:", ""]
  for row in rows:
    lines.append(f"- {_label(row['actors'])}: {row['train_steps_per_s']:.1f} train steps/s, "
                 f"{row['env_steps_per_s']:.1f} env steps/s, {row['cores_total']:.2f} cores "
                 f"(load average {row['loadavg']:.2f})")
  lines += ["", args.note] if args.note else []
  replace_section(path, "distributed-scale", lines)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--actors", type=int, nargs="+", default=[1, 2, 4])
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--warmup", type=float, default=20.0, help="seconds of training first")
  parser.add_argument("--window", type=float, default=40.0, help="seconds measured")
  parser.add_argument("--initial-collect-steps", type=int, default=2000)
  parser.add_argument("--note", default="", help="a paragraph appended to the section")
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  args = parser.parse_args()
  args.loadavg_before = os.getloadavg()[0]
  settings = [0] + [a for a in args.actors if a > 0]
  rows = []
  for run in range(args.runs):
    for actors in settings:
      row = measure(actors, args)
      rows.append(row)
      print(f"run {run}, {_label(actors)}: {json.dumps(row)}", flush=True)
  write_report(args.output, args, rows, settings)
  print(f"wrote {args.output}")


if __name__ == "__main__":
  main()
