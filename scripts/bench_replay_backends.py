"""Benchmark: DQN CartPole-v0 loop speed with the in-process local replay against Reverb.

Alternates `rlrun train --config dqn_cartpole.gin` runs with `train.Experiment.replay =
'local'` (rlrun's seeded in-process table, what --deterministic uses) and the default
in-process Reverb server, same seeds, the full 20000 iterations. Loop it/s excludes
evaluation time (as bench_dqn_cartpole.py measures it); the learning result of each run
(best eval return, step of the first 200) is reported beside its speed. Medians and the
local / Reverb ratio go to BENCHMARKS.md (section "replay-backends").

Usage:
  python scripts/bench_replay_backends.py --seeds 0 1 2
"""

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from bench_dqn_cartpole import REPO, run_rlrun
from benchmarks_md import replace_section

BACKENDS = {"reverb (default)": [], "local": ["train.Experiment.replay = 'local'"]}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  options = parser.parse_args()
  rows = {name: [] for name in BACKENDS}
  with tempfile.TemporaryDirectory() as work:
    for seed in options.seeds:
      for name, bindings in BACKENDS.items():  # alternate: drift hits both alike
        result = run_rlrun(seed, Path(work), bindings)
        rows[name].append(result)
        print(f"{name} seed {seed}: {result['it_per_s']:.0f} it/s, best eval "
              f"{result['best_return']:.1f}, first 200 at step {result['step_200']}", flush=True)
  median = {name: statistics.median(r["it_per_s"] for r in rs) for name, rs in rows.items()}
  lines = ["## Replay backends, DQN CartPole-v0 (`scripts/bench_replay_backends.py`)", "",
           f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
           f"{time.strftime('%Y-%m-%d')}. 20000 iterations of the shipped config, seeds "
           f"{options.seeds}, runs alternating in one invocation; loop it/s without evaluation.",
           "", "| replay | loop it/s per seed | median | best eval return per seed |",
           "|---|---|---|---|"]
  for name, rs in rows.items():
    rates = ", ".join(f"{r['it_per_s']:.0f}" for r in rs)
    returns = ", ".join(f"{r['best_return']:.0f}" for r in rs)
    lines.append(f"| {name} | {rates} | **{median[name]:.0f}** | {returns} |")
  lines += ["", f"Local / Reverb: **{median['local'] / median['reverb (default)']:.2f}x** the loop "
            "rate (medians)."]
  replace_section(options.output, "replay-backends", lines)
  print("\n".join(lines))


if __name__ == "__main__":
  main()
