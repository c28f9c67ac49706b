"""Benchmark: what the shipped configs learn, over seeds, against RL Baselines3 Zoo's figures.

Runs `rlrun train --config C --seed S` for every config with an anchor (or those named
with --configs) and each seed, at the config's own budget, and reads the last evaluation
of each run (its mean return over the evaluation episodes: the config's, at least 10, or
--eval-episodes). Per config it reports the final returns, their interquartile mean (IQM: the mean of the
middle half, as rliable computes it) and a 95% bootstrap interval of the IQM (seeds
resampled with replacement, 2000 times; with one task per row the stratified bootstrap
is this one), beside RL Zoo's benchmark.md figure for the same algorithm and
environment. RL Zoo's rows are single runs evaluated with the deterministic policy, as
rlrun's evaluation is.

Writes the table to BENCHMARKS.md (section "learning"), merging with rows already there
for configs this invocation did not run.

Usage:
  python scripts/bench_learning.py --seeds 0 1 2 3 4
  python scripts/bench_learning.py --configs dqn_acrobot.gin --seeds 0 1
  python scripts/bench_learning.py --configs dqn_mountaincar.gin --seeds 0 1 2 3 4 5 6 7 8 9 \
      --jobs 2   # two seeds at a time, one per core
  python scripts/bench_learning.py --configs td3_halfcheetah_bullet.gin --seeds 0 1 \
      --env-steps 150000   # a documented shorter budget; the row's note says so
  python scripts/bench_learning.py --configs td3_pendulum.gin --fast   # rows of their own
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

import re

import numpy as np

from benchmarks_md import replace_section, section_rows

REPO = Path(__file__).resolve().parents[1]
SECTION = "learning"
ZOO = "RL Zoo benchmark.md"


class Anchor(NamedTuple):
  mean: float
  std: float
  budget: str  # RL Zoo's environment steps
  source: str
  note: str = ""


ANCHORS: Dict[str, Anchor] = {
    "dqn_cartpole_v1.gin": Anchor(500.0, 0.0, "50k", f"{ZOO}: dqn CartPole-v1"),
    "c51_cartpole.gin": Anchor(500.0, 0.0, "50k", f"{ZOO}: qrdqn CartPole-v1",
                               "RL Zoo has no C51 row; QR-DQN is its distributional DQN"),
    "dqn_acrobot.gin": Anchor(-76.6, 11.8, "100k", f"{ZOO}: dqn Acrobot-v1"),
    "dqn_mountaincar.gin": Anchor(-100.8, 9.9, "120k", f"{ZOO}: dqn MountainCar-v0",
                                  "rlrun's config adds 5-step returns and double Q to RL "
                                  "Zoo's settings"),
    "ppo_cartpole.gin": Anchor(500.0, 0.0, "100k", f"{ZOO}: ppo CartPole-v1"),
    "ppo_pendulum.gin": Anchor(-172.2, 104.2, "100k", f"{ZOO}: ppo Pendulum-v1",
                               "gSDE as RL Zoo's run; 25 rollouts of 4096 steps"),
    "td3_pendulum.gin": Anchor(-151.9, 90.2, "20k", f"{ZOO}: td3 Pendulum-v1"),
    "sac_pendulum.gin": Anchor(-157.0, 88.7, "20k", f"{ZOO}: sac Pendulum-v1",
                               "rlrun's sac_pendulum.gin: 13k steps, (256, 256), lr 3e-4"),
    "td3_halfcheetah_bullet.gin": Anchor(2821.6, 19.7, "1M", f"{ZOO}: td3 "
                                         "HalfCheetahBulletEnv-v0"),
    "sac_halfcheetah_bullet.gin": Anchor(2792.2, 12.1, "1M", f"{ZOO}: sac "
                                         "HalfCheetahBulletEnv-v0", "RL Zoo's run uses gSDE"),
}
# Too long for a 2-core machine at the full budget (TD3 ran 52-58 env steps/s here, so
# about 5 hours per seed and config):
# run only when named with --configs.
LONG = {"td3_halfcheetah_bullet.gin", "sac_halfcheetah_bullet.gin"}
FAST = " --fast"  # the row key's suffix and the flag of a --fast run


def iqm(values: np.ndarray) -> float:
  """The mean of the middle half (rliable's IQM: scipy's trim_mean with 25% cut)."""
  values = np.sort(np.asarray(values, np.float64))
  cut = int(0.25 * len(values))
  return float(values[cut:len(values) - cut].mean())


def bootstrap_interval(values: np.ndarray, reps: int = 2000, seed: int = 0) -> tuple:
  """95% percentile interval of the IQM over seeds resampled with replacement."""
  rng = np.random.default_rng(seed)
  values = np.asarray(values, np.float64)
  samples = [iqm(rng.choice(values, size=len(values), replace=True)) for _ in range(reps)]
  return float(np.percentile(samples, 2.5)), float(np.percentile(samples, 97.5))


def config_int(config: str, name: str) -> int:
  """`train.Experiment.<name>` as the shipped config sets it."""
  text = (REPO / "gin_configs" / config).read_text()
  found = re.search(rf"^train\.Experiment\.{name}\s*=\s*(\d+)\s*$", text, re.MULTILINE)
  if found is None:
    raise ValueError(f"{config} does not set train.Experiment.{name}")
  return int(found.group(1))


def iterations_for(config: str, env_steps: int) -> int:
  """num_iterations that make an off-policy config's run `env_steps` environment steps."""
  initial = config_int(config, "initial_collect_steps")
  per_iteration = config_int(config, "collect_steps_per_iteration")
  if env_steps <= initial or (env_steps - initial) % per_iteration:
    raise ValueError(f"{config}: --env-steps must be {initial} random steps plus a multiple "
                     f"of {per_iteration}")
  return (env_steps - initial) // per_iteration


def run(rlrun: str, config: str, seed: int, work: Path, eval_episodes: Optional[int] = None,
        env_steps: Optional[int] = None, fast: bool = False) -> dict:
  root = work / f"{config[:-4]}{FAST if fast else ''}-seed{seed}".replace(" ", "")
  start = time.monotonic()
  more = [] if eval_episodes is None else [
      "--gin-param", f"train.Experiment.num_eval_episodes={eval_episodes}"]
  if fast:
    more.append(FAST.strip())
  if env_steps is not None:
    more += ["--gin-param",
             f"train.Experiment.num_iterations={iterations_for(config, env_steps)}"]
  result = subprocess.run([rlrun, "train", "--config", config, "--root-dir", str(root),
                           "--seed", str(seed), *more], capture_output=True, text=True)
  if result.returncode != 0:
    raise RuntimeError(f"{config} seed {seed} failed:\n{result.stderr[-3000:]}")
  evals = [json.loads(line) for line in (root / "eval" / "results.jsonl").read_text().splitlines()]
  return {"final": evals[-1]["AverageReturn"], "episodes": evals[-1]["NumEpisodes"],
          "best": max(e["AverageReturn"] for e in evals), "step": evals[-1]["step"],
          "minutes": (time.monotonic() - start) / 60}


def _format(value: float) -> str:
  return f"{value:.1f}"


def row(config: str, seeds: List[int], results: List[dict],
        env_steps: Optional[int] = None, fast: bool = False) -> str:
  anchor = ANCHORS[config]
  finals = np.array([r["final"] for r in results])
  low, high = bootstrap_interval(finals)
  value = iqm(finals)
  verdict = "yes" if value >= anchor.mean else "no"
  episodes = min(r["episodes"] for r in results)
  minutes = np.median([r["minutes"] for r in results])
  notes = [anchor.note] if anchor.note else []
  if fast:
    notes.append("`rlrun train --fast`: the in-process replay, 32 iterations per call and "
                 "the next group collected while the learner trains on one core fewer")
  if env_steps is not None:
    notes.append(f"Shortened budget: {env_steps:,} environment steps, not the anchor's "
                 f"{anchor.budget}, so the anchor is not reached by design")
  note = "".join(f" {n}." for n in notes)  # the last column
  return (f"| {config}{FAST if fast else ''} | {', '.join(map(str, seeds))} | "
          f"{', '.join(_format(f) for f in finals)} | **{_format(value)}** "
          f"[{_format(low)}, {_format(high)}] | {anchor.mean:g} ± {anchor.std:g} at "
          f"{anchor.budget} ({anchor.source}) | {verdict} | {episodes} | {minutes:.1f} |"
          f"{note} |")


HEADER = ["| config | seeds | final eval return per seed | IQM [95% bootstrap CI] | "
          "RL Zoo anchor | IQM ≥ anchor | eval episodes | minutes per run (median) | note |",
          "|---|---|---|---|---|---|---|---|---|"]


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--configs", nargs="+", default=None,
                      help="configs to run (default: every anchored one but the 1M-step ones)")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
  parser.add_argument("--rlrun", default=str(Path(sys.executable).with_name("rlrun")),
                      help="the rlrun executable (e.g. of a venv installed from a fixed commit)")
  parser.add_argument("--eval-episodes", type=int, default=None,
                      help="evaluation episodes of every run (default: the config's); more "
                      "episodes measure each final return more precisely, on envs whose "
                      "returns depend on the start (Pendulum)")
  parser.add_argument("--env-steps", type=int, default=None,
                      help="a shorter budget for off-policy configs too slow for this "
                      "machine (the HalfCheetah ones): environment steps of every run, "
                      "random ones included; the row's note records it")
  parser.add_argument("--fast", action="store_true",
                      help="run `rlrun train --fast` (rows of their own, '<config> --fast'): "
                      "does the speed mode learn what the shipped default does?")
  parser.add_argument("--jobs", type=int, default=1,
                      help="seeds trained at once, each in its own process (the minutes "
                      "column then counts runs sharing the cores)")
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  options = parser.parse_args()
  if options.jobs < 1:
    parser.error(f"--jobs must be >= 1, got {options.jobs}")
  if len(set(options.seeds)) != len(options.seeds):
    parser.error("--seeds repeats a seed; each seed's run has one directory")
  configs = options.configs or [c for c in ANCHORS if c not in LONG]
  unknown = [c for c in configs if c not in ANCHORS]
  if unknown:
    parser.error(f"no anchor for {', '.join(unknown)}; anchored: {', '.join(ANCHORS)}")
  if options.env_steps is not None:
    for config in configs:
      try:
        iterations_for(config, options.env_steps)
      except ValueError as error:
        parser.error(str(error))
  rows = {}
  with tempfile.TemporaryDirectory() as work:
    for config in configs:
      def one(seed: int) -> dict:
        r = run(options.rlrun, config, seed, Path(work), options.eval_episodes,
                options.env_steps, options.fast)
        sys.stdout.write(f"{config} seed {seed}: final {r['final']:.1f} (best "
                         f"{r['best']:.1f}) at step {r['step']}, {r['minutes']:.1f} min\n")
        sys.stdout.flush()
        return r
      pool = ThreadPoolExecutor(options.jobs)  # each run is its own process
      try:
        results = list(pool.map(one, options.seeds))
      finally:  # a failed seed stops the seeds not yet started
        pool.shutdown(cancel_futures=True)
      key = config + (FAST if options.fast else "")
      rows[key] = row(config, options.seeds, results, options.env_steps, options.fast)
      print(rows[key], flush=True)
      write(options.output, rows)


def write(path: Path, new_rows: Dict[str, str]) -> None:
  """The section with `new_rows` and the rows already there for other configs (read now, so
  invocations running side by side keep each other's rows)."""
  rows = dict(section_rows(path, SECTION, lambda key: key.endswith((".gin", ".gin" + FAST))),
              **new_rows)
  lines = ["## Learning against RL Baselines3 Zoo (`scripts/bench_learning.py`)", "",
           f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; table "
           f"updated {time.strftime('%Y-%m-%d')}. Each run is the shipped config at its own "
           "budget (see its header) with `--seed S`; the final eval return is the last "
           "evaluation's mean over the run's evaluation episodes (the config's, or "
           "`--eval-episodes`; see the column; greedy policy). IQM = "
           "mean of the middle half of the seeds' final returns; the interval resamples "
           "seeds with replacement (2000 times). RL Zoo's figures are single runs "
           "(benchmark.md). The HalfCheetahBulletEnv-v0 configs (1M steps, about 5 hours per "
           "seed here) run only at a shortened budget (`--env-steps`; their rows' notes say "
           "so); rows with fewer than 5 seeds were cut for time on this 2-core machine.", ""] + HEADER
  lines += [rows[key] for c in ANCHORS for key in (c, c + FAST) if key in rows]
  replace_section(path, SECTION, lines)


if __name__ == "__main__":
  main()
