"""Benchmark: this checkout's training loop against an earlier git revision's, same machine, same run.

Checks out REV into a temporary git worktree and alternates `python -m rlrun train`
runs of this tree and of REV (REV's source put first on PYTHONPATH), each on the config
file of its own tree, --runs times each, with evaluation pushed to the end. Loop it/s is
num_iterations over the wall time between the step-0 evaluation and the last one, less
the evaluations' time. Medians and the ratio go to BENCHMARKS.md (section
"against-<config>").

Usage:
  python scripts/bench_against_revision.py --rev 948d34c --config dqn_cartpole --runs 3
  python scripts/bench_against_revision.py --rev 948d34c --config sac_pendulum --iterations 3000
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

from benchmarks_md import replace_section

REPO = Path(__file__).resolve().parent.parent


def loop_rate(tree: Path, config: str, root: Path, iterations: int, pythonpath: str) -> float:
  env = dict(os.environ, PYTHONPATH=pythonpath) if pythonpath else dict(os.environ)
  env.pop("PYTHONPATH", None) if not pythonpath else None
  command = [sys.executable, "-m", "rlrun", "train", "--config",
             str(tree / "gin_configs" / f"{config}.gin"), "--root-dir", str(root),
             "--gin-param", f"train.Experiment.num_iterations={iterations}",
             "--gin-param", f"train.Experiment.eval_interval={iterations}"]
  subprocess.run(command, check=True, capture_output=True, text=True, env=env,
                 cwd=tempfile.gettempdir())
  evals = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  seconds = evals[-1]["wall_time"] - evals[0]["wall_time"] - evals[-1]["eval_seconds"]
  return iterations / seconds


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rev", required=True)
  parser.add_argument("--config", default="dqn_cartpole")
  parser.add_argument("--iterations", type=int, default=20000)
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  options = parser.parse_args()
  rates = {"this tree": [], options.rev: []}
  with tempfile.TemporaryDirectory() as work:
    old = Path(work) / "old"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), options.rev],
                   check=True, capture_output=True)
    try:
      for i in range(options.runs):
        for name, tree, path in (("this tree", REPO, ""), (options.rev, old, str(old))):
          rate = loop_rate(tree, options.config, Path(work) / f"{i}-{tree.name}",
                           options.iterations, path)
          rates[name].append(rate)
          print(f"{name} run {i + 1}: {rate:.1f} it/s", flush=True)
    finally:
      subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)],
                     check=False, capture_output=True)
  median = {name: statistics.median(r) for name, r in rates.items()}
  lines = [f"## {options.config}: this tree against {options.rev} "
           "(`scripts/bench_against_revision.py`)", "",
           f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
           f"{time.strftime('%Y-%m-%d')}. {options.iterations} iterations of the shipped config, "
           f"{options.runs} runs each, alternating; loop it/s without evaluation.", ""]
  for name, values in rates.items():
    lines.append(f"- {name}: {', '.join(f'{v:.1f}' for v in values)} it/s, median "
                 f"**{median[name]:.1f}**")
  lines.append(f"- ratio (this tree / {options.rev}): **{median['this tree'] / median[options.rev]:.2f}x**")
  replace_section(options.output, f"against-{options.config}", lines)
  print("\n".join(lines))


if __name__ == "__main__":
  main()
