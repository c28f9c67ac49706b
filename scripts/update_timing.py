"""Shared by the update micro-benchmarks (bench_update_precision.py, bench_twin_critics.py):
timing one compiled update, and running each variant in a fresh process."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List, Sequence

REPO = Path(__file__).resolve().parent.parent


def ms_per_update(update: Callable, steps: int, warmup: int = 30, blocks: int = 5) -> float:
  """Milliseconds per call of `update` (which returns a tensor): the median of `blocks`
  blocks of `steps` calls after `warmup` calls, each block ending on a read of the result,
  so queued work is counted."""
  for _ in range(warmup):
    update()
  times = []
  for _ in range(blocks):
    started = time.perf_counter()
    for _ in range(steps):
      update()
    update().numpy()
    times.append((time.perf_counter() - started) / (steps + 1) * 1e3)
  return statistics.median(times)


def run_worker(script: str, steps: int, worker_args: List[str]) -> float:
  """Runs `script --steps N --worker ARGS...` in a fresh process (numpy's BLAS on one
  thread, as the `rlrun` command runs) and returns the number its last line prints."""
  out = subprocess.run([sys.executable, script, "--steps", str(steps), "--worker"] + worker_args,
                       capture_output=True, text=True, check=True,
                       env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
  return json.loads(out.stdout.strip().splitlines()[-1])


def parser(description: str, worker_args: Sequence[str]) -> argparse.ArgumentParser:
  """--runs, --steps, --output and the hidden --worker taking `worker_args`."""
  result = argparse.ArgumentParser(description=description)
  result.add_argument("--runs", type=int, default=3)
  result.add_argument("--steps", type=int, default=100)
  result.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  result.add_argument("--worker", nargs=len(worker_args), metavar=tuple(worker_args),
                      help=argparse.SUPPRESS)
  return result
