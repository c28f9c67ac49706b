"""Benchmark: `rlrun plot` start-to-file time on 20 run directories (target: under 2 s).

Makes 20 synthetic run dirs (2 configs x 10 seeds; each 100 evaluations in
eval/results.jsonl and 1000 train loss summaries in a TensorBoard event file written by
tf.summary), then times the whole command in fresh processes, 5 times each: an eval metric
(AverageReturn, reads results.jsonl) and a train summary (loss, reads the event files), and
as the reference the bare interpreter start (`python -c pass`) in the same invocation.

Usage:
  python scripts/bench_plot.py [--runs 5] [--output BENCHMARKS.md]
"""

import argparse
import json
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


def make_runs(root: Path) -> None:
  import numpy as np
  import tensorflow as tf
  rng = np.random.default_rng(0)
  for config in ("a.gin", "b.gin"):
    for seed in range(10):
      run = root / f"{config[:-4]}-seed{seed}"
      (run / "eval").mkdir(parents=True)
      (run / "run.json").write_text(json.dumps({"config": config, "seed": seed, "sessions": []}))
      (run / "eval" / "results.jsonl").write_text("".join(json.dumps(
          {"AverageReturn": float(rng.normal(i, 5)), "AverageEpisodeLength": 100.0,
           "NumEpisodes": 10, "step": 100 * i, "env_steps": 100 * i, "wall_time": 1e9 + i,
           "eval_seconds": 0.1}) + "\n" for i in range(100)))
      writer = tf.summary.create_file_writer(str(run / "train"))
      with writer.as_default():
        for step in range(1000):
          tf.summary.scalar("losses/loss", float(rng.random()), step=10 * step)
      writer.close()


def timed(command) -> float:
  start = time.perf_counter()
  subprocess.run(command, check=True, capture_output=True)
  return time.perf_counter() - start


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", type=int, default=5)
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  options = parser.parse_args()
  with tempfile.TemporaryDirectory() as work:
    root = Path(work) / "study"
    make_runs(root)
    plot = [sys.executable, "-m", "rlrun", "plot", str(root), "-o", str(Path(work) / "p.png")]
    cases = {"bare interpreter (`python -c pass`, reference)": [sys.executable, "-c", "pass"],
             "rlrun plot, AverageReturn (results.jsonl)": plot,
             "rlrun plot --metric loss (event files)": plot + ["--metric", "loss"]}
    times = {name: [] for name in cases}
    for _ in range(options.runs):
      for name, command in cases.items():
        times[name].append(timed(command))
  reference = statistics.median(times[next(iter(cases))])
  lines = ["## `rlrun plot` start-to-file time (`scripts/bench_plot.py`)", "",
           f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
           f"{time.strftime('%Y-%m-%d')}. 20 run dirs (2 configs x 10 seeds, 100 evaluations "
           "and 1000 loss summaries each), grouped by config, PNG; whole command in a fresh "
           f"process, {options.runs} runs, alternating. Target: under 2 s.", "",
           "| command | seconds per run | median (s) | minus interpreter start (s) |",
           "|---|---|---|---|"]
  lines += median_rows(times, 2, lambda median: f"{median - reference:.2f}")
  replace_section(options.output, "plot-speed", lines)
  print("\n".join(lines))


if __name__ == "__main__":
  main()
