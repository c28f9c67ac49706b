"""Benchmark: what Stable-Baselines3 learns with RL Baselines3 Zoo's hyperparameters on this
machine, for the rows of rlrun's learning table that sit below their RL Zoo figure.

RL Zoo's benchmark.md figures are single runs (one seed each). This script reruns those
entries with SB3 2.9.2 (the peers' venv of scripts/bench_peers.py) for several seeds at
RL Zoo's budget and scores them as scripts/bench_learning.py scores rlrun: the final
model's greedy policy, mean return over 10 episodes, IQM and a 95% bootstrap interval
over seeds. `ppo_pendulum_no_sde` is RL Zoo's PPO Pendulum-v1 entry without gSDE, as
rlrun's ppo_pendulum.gin runs it. Each run is scripts/zoo_peer_run.py in the peers' venv.

Writes BENCHMARKS.md section "learning-sb3", merging with rows already there.

Usage:
  python scripts/bench_learning_sb3.py --seeds 0 1 2 3 4
  python scripts/bench_learning_sb3.py --tasks ppo_pendulum --seeds 0 1
"""

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

from bench_learning import bootstrap_interval, iqm
from bench_peers import ensure_peers_venv, venv_parser
from benchmarks_md import replace_section, section_rows

HERE = Path(__file__).resolve().parent
SECTION = "learning-sb3"
# task -> (RL Zoo entry, budget, rlrun's config and its IQM in the learning table's row)
TASKS = {
    "dqn_cartpole_v1": ("dqn.yml CartPole-v1", "50k", "dqn_cartpole_v1.gin"),
    "dqn_mountaincar": ("dqn.yml MountainCar-v0", "120k", "dqn_mountaincar.gin"),
    "td3_pendulum": ("td3.yml Pendulum-v1", "20k", "td3_pendulum.gin"),
    "ppo_pendulum": ("ppo.yml Pendulum-v1 (gSDE, sample freq 4)", "100k", "ppo_pendulum.gin"),
    "ppo_pendulum_no_sde": ("ppo.yml Pendulum-v1 without gSDE", "100k", "ppo_pendulum.gin"),
}
HEADER = ["| RL Zoo entry (SB3 2.9.2) | budget | seeds | final eval return per seed | "
          "IQM [95% bootstrap CI] | eval episodes | minutes per run (median) | rlrun's row |",
          "|---|---|---|---|---|---|---|---|"]


def run(python: str, task: str, seed: int, eval_episodes: int) -> dict:
  result = subprocess.run([python, str(HERE / "zoo_peer_run.py"), "--task", task, "--seed",
                           str(seed), "--eval-episodes", str(eval_episodes)],
                          capture_output=True, text=True)
  if result.returncode != 0:
    raise RuntimeError(f"{task} seed {seed} failed:\n{result.stderr[-3000:]}")
  return json.loads(result.stdout.strip().splitlines()[-1])


def row(task: str, seeds: List[int], results: List[dict]) -> str:
  entry, budget, config = TASKS[task]
  finals = np.array([r["final"] for r in results])
  low, high = bootstrap_interval(finals)
  minutes = np.median([r["minutes"] for r in results])
  episodes = min(r["episodes"] for r in results)
  return (f"| {task}: {entry} | {budget} | {', '.join(map(str, seeds))} | "
          f"{', '.join(f'{f:.1f}' for f in finals)} | **{iqm(finals):.1f}** [{low:.1f}, "
          f"{high:.1f}] | {episodes} | {minutes:.1f} | {config} |")


def write(path: Path, new_rows: Dict[str, str]) -> None:
  kept = section_rows(path, SECTION, lambda key: key.split(":")[0] in TASKS)
  rows = dict({key.split(":")[0]: line for key, line in kept.items()}, **new_rows)
  lines = ["### The same RL Zoo entries rerun with SB3 here (`scripts/bench_learning_sb3.py`)",
           "", f"Machine: {os.cpu_count()} cores; updated {time.strftime('%Y-%m-%d')}. "
           "SB3 2.9.2 on Gymnasium 1.4 with RL Zoo's hyperparameters at RL Zoo's budget, "
           "one process per seed; the final model's deterministic policy on the row's evaluation "
           "episodes in a separate environment, scored as the table above.", ""] + HEADER
  lines += [rows[t] for t in TASKS if t in rows]
  replace_section(path, SECTION, lines)


def main() -> None:
  parser = venv_parser(__doc__.splitlines()[0])
  parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
  parser.add_argument("--eval-episodes", type=int, default=10)
  options = parser.parse_args()
  python = ensure_peers_venv(options.peers_venv, options.peers_python, options.torch_index)
  rows = {}
  for task in options.tasks:
    results = []
    for seed in options.seeds:
      results.append(run(python, task, seed, options.eval_episodes))
      print(f"{task} seed {seed}: {json.dumps(results[-1])}", flush=True)
    rows[task] = row(task, options.seeds, results)
    print(rows[task], flush=True)
    write(options.output, rows)


if __name__ == "__main__":
  main()
