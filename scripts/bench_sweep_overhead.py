"""Benchmark: orchestration overhead of `rlrun sweep` against the same runs launched by hand.

A 2x2 grid (agents.DqnAgent.gamma in [0.9, 0.99] x 2 seeds) of dqn_cartpole.gin shortened to
--iterations iterations: `rlrun sweep ... --jobs 2` in a fresh directory against the same 4
`rlrun train` commands started by hand two at a time (as one would on 2 cores), each child
with the thread split the sweep gives its children (TF_NUM_INTRAOP_THREADS = cores / 2).
Wall time of the whole thing, fresh directories, alternating, medians over --runs.

Usage:
  python scripts/bench_sweep_overhead.py [--runs 3] [--iterations 2000]
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks_md import median_rows, replace_section

REPO = Path(__file__).resolve().parent.parent
GAMMAS = ("0.9", "0.99")
SEEDS = (0, 1)


def _common(iterations: int):
  return ["--gin-param", f"train.Experiment.num_iterations={iterations}",
          "--gin-param", f"train.Experiment.eval_interval={iterations}",
          "--gin-param", "train.Experiment.num_eval_episodes=3"]


def by_sweep(work: Path, iterations: int) -> float:
  start = time.perf_counter()
  subprocess.run([sys.executable, "-m", "rlrun", "sweep", "--config", "dqn_cartpole.gin",
                  "--param", f"agents.DqnAgent.gamma=[{', '.join(GAMMAS)}]", "--seeds", "2",
                  "--jobs", "2", "--root-dir", str(work / "sweep"), *_common(iterations)],
                 check=True, capture_output=True)
  return time.perf_counter() - start


def by_hand(work: Path, iterations: int) -> float:
  threads = str(max(1, (os.cpu_count() or 1) // 2))
  env = dict(os.environ, TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS=threads)
  commands = [[sys.executable, "-m", "rlrun", "train", "--config", "dqn_cartpole.gin",
               "--root-dir", str(work / "hand" / f"gamma={gamma}" / f"seed{seed}"),
               "--seed", str(seed), "--gin-param", f"agents.DqnAgent.gamma={gamma}",
               *_common(iterations)] for gamma in GAMMAS for seed in SEEDS]
  start = time.perf_counter()
  for pair in (commands[:2], commands[2:]):
    running = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env) for c in pair]
    if any(p.wait() for p in running):
      raise RuntimeError("a run by hand failed")
  return time.perf_counter() - start


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--iterations", type=int, default=2000)
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  options = parser.parse_args()
  times = {"by hand (2 + 2 `rlrun train`)": [], "`rlrun sweep --jobs 2`": []}
  for _ in range(options.runs):
    with tempfile.TemporaryDirectory() as work:
      times["by hand (2 + 2 `rlrun train`)"].append(by_hand(Path(work), options.iterations))
    with tempfile.TemporaryDirectory() as work:
      times["`rlrun sweep --jobs 2`"].append(by_sweep(Path(work), options.iterations))
    print({k: f"{v[-1]:.1f}" for k, v in times.items()}, flush=True)
  hand = statistics.median(times["by hand (2 + 2 `rlrun train`)"])
  lines = ["## Sweep orchestration overhead (`scripts/bench_sweep_overhead.py`)", "",
           f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
           f"{time.strftime('%Y-%m-%d')}. 4 runs of dqn_cartpole.gin ({options.iterations} "
           "iterations, gamma in [0.9, 0.99] x 2 seeds), fresh directories, "
           f"{options.runs} runs alternating; wall seconds of the whole set. The sweep's extra "
           "work: the checks before any run starts (a scratch build per grid point) and the "
           "ranking at the end.", "",
           "| how | seconds per run | median | against by hand |", "|---|---|---|---|"]
  lines += median_rows(times, 1, lambda median: f"{median / hand:.2f}x")
  replace_section(options.output, "sweep-overhead", lines)
  print("\n".join(lines))


if __name__ == "__main__":
  main()
