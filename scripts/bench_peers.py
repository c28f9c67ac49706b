"""Benchmark: rlrun against Stable-Baselines3 and SBX, side by side (never part of CI).

NOT FOR CI: the peers' virtualenv pulls several GB of wheels (PyTorch, JAX). Run by hand.

Creates (or reuses) a separate virtualenv holding the peers (stable-baselines3 2.9.2 on
PyTorch, sbx-rl 0.28.0 on JAX, both on the CPU) and, for each task, runs every side in turn
-- rlrun with Reverb (the default), rlrun with replay='local', `rlrun train --fast` (replay='local',
32 iterations per call, collection overlapped with training, the learner on one core fewer), SB3, SBX -- --runs times,
alternating sides so a change in the machine's speed hits them all alike. Each run is seeded
with its run index. The peers run scripts/peer_loop.py in their venv with the
hyperparameters of rlrun's shipped config; rlrun runs `rlrun train --config <task>.gin`.

Per run it reports the loop rate (training iterations of 1 env step + 1 gradient step per
second, evaluation excluded on every side), the seconds from process launch until the
evaluation first reaches the task's solved threshold (CartPole-v0: 200; Pendulum-v1: better
than -200), and the learning result: the eval return at the end of the timed run and, after
the timed loop, the trained policy's mean return over --final-episodes episodes (every side's
environments seeded from 20000 + seed), which a 10-episode evaluation's start states sway
less. Medians
and ratios (rlrun / peer) go to BENCHMARKS.md: the method in section "peers", each task's
table in "peers-<task>" (a run of some tasks leaves the others' tables as they were).

Usage:
  python scripts/bench_peers.py                       # both tasks, 3 runs a side
  python scripts/bench_peers.py --tasks dqn_cartpole --runs 5
  python scripts/bench_peers.py --peers-venv ~/.cache/rlrun/peers-venv --sides rlrun sb3

The venv is made with the python given by --peers-python (default python3.11); PyTorch is
installed first as torch==2.13.0 (pass --torch-index https://download.pytorch.org/whl/cpu
where PyPI's default wheel would be a CUDA build).
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

from benchmarks_md import replace_section
from peer_venvs import ensure_venv

REPO = Path(__file__).resolve().parent.parent
PEERS = ["stable-baselines3==2.9.2", "sbx-rl==0.28.0"]
TORCH = "torch==2.13.0"

# task -> (rlrun config, training iterations, solved threshold: first eval return >= it)
TASKS = {"dqn_cartpole": ("dqn_cartpole.gin", 20000, 200.0),
         "sac_pendulum": ("sac_pendulum.gin", 12000, -200.0)}
# The settings peer_loop.py changes from the shipped config, given to rlrun too; and, for
# DQN, what SB3 fixes that the tutorial config sets otherwise: gradients clipped to norm 10,
# PyTorch's initialisation (kernels and hidden biases uniform in +-1/sqrt(fan_in); the last
# bias stays 0, where PyTorch draws it in +-0.14), Adam's epsilon.
_HIDDEN_INIT = "hidden/tf.keras.initializers.VarianceScaling"  # mode fan_in in the config
CHANGES = {"dqn_cartpole": ["agents.DqnAgent.gamma=0.99", "agents.DqnAgent.target_update_period=100",
                            "agents.DqnAgent.td_errors_loss_fn=@losses.element_wise_huber_loss",
                            "agents.DqnAgent.gradient_clipping=10.0",
                            "tf.keras.optimizers.Adam.epsilon=1e-8",
                            f"{_HIDDEN_INIT}.scale=0.3333333",
                            f"{_HIDDEN_INIT}.distribution='uniform'",
                            "networks.QNetwork.bias_initializer=@networks.FanInUniform()",
                            # The last layer's fan-in is 50: +-1/sqrt(50), bias 0.
                            "q_values/tf.keras.initializers.RandomUniform.minval=-0.1414",
                            "q_values/tf.keras.initializers.RandomUniform.maxval=0.1414",
                            "q_values/tf.keras.initializers.Constant.value=0.0"],
           "sac_pendulum": []}
# The peers save nothing while they train: neither does rlrun here (its final checkpoint and
# policy export come after the last evaluation, outside the timed loop).
NO_SAVES = ["train.Experiment.keep_best_policy=False"] + [
    f"train.Experiment.{name}={{iterations}}" for name in ("checkpoint_interval",
                                                           "policy_save_interval")]
SIDES = {"rlrun": "rlrun (Reverb)", "rlrun-local": "rlrun (replay='local')",
         "rlrun-grouped": "rlrun --fast (local, 32 per call, overlapped)",
         "sb3": "SB3 2.9.2", "sbx": "SBX 0.28.0"}
FINAL_EVAL_SEED = 20_000  # + the run's seed: the final evaluation's environments, every side
# What each rlrun side changes of the config. 'grouped' is `rlrun train --fast` (its
# binding): the in-process replay, 32 iterations per actor/learner call (the collect
# policy's weights refreshed every 32 steps) and collection overlapped with training (a
# group trains on what was written before it), the learner's ops on one core fewer.
VARIANTS = {"rlrun": [], "rlrun-local": ["train.Experiment.replay='local'"],
            "rlrun-grouped": ["train.Experiment.fast=True"]}


def ensure_peers_venv(venv: Path, python: str, torch_index: Optional[str]) -> str:
  """The peers' python, creating the venv and installing the peers when it lacks them."""
  torch = [TORCH] + (["--index-url", torch_index] if torch_index else [])
  return ensure_venv(venv, python, "stable_baselines3, sbx",
                     [["--upgrade", "pip"], torch, PEERS + [TORCH]], "the peers'")


def _records(text: str) -> List[dict]:
  return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _summary(evals: List[dict], launched: float, loop_seconds: float, threshold: float,
             final_return: float = math.nan) -> Dict[str, float]:
  hit = next((e for e in evals if e["AverageReturn"] >= threshold), None)
  iterations = evals[-1]["step"] - evals[0]["step"]
  return {"it_per_s": iterations / loop_seconds,
          "to_solved": hit["wall_time"] - launched if hit else math.nan,
          "step_solved": hit["step"] if hit else math.nan,
          "final_return": evals[-1]["AverageReturn"],
          "final_return_n": final_return}


def rlrun_final_return(root: Path, episodes: int, seed: int, workdir: Path) -> float:
  """The run's last exported policy's mean return over `episodes` (nan for 0)."""
  if episodes <= 0:
    return math.nan
  out = subprocess.run([sys.executable, "-m", "rlrun", "eval", "--root-dir", str(root),
                        "--episodes", str(episodes), "--seed", str(FINAL_EVAL_SEED + seed),
                        "--json"], check=True, capture_output=True, text=True, cwd=workdir)
  return _records(out.stdout)[-1]["AverageReturn"]


def run_rlrun(task: str, seed: int, workdir: Path, side: str,
              final_episodes: int = 0) -> Dict[str, float]:
  config, iterations, threshold = TASKS[task]
  root = workdir / f"{side}-{task}-{seed}"
  command = [sys.executable, "-m", "rlrun", "train", "--config", config, "--root-dir",
             str(root), "--seed", str(seed), "--gin-param",
             f"train.Experiment.num_iterations={iterations}"]
  changes = CHANGES[task] + [s.format(iterations=iterations) for s in NO_SAVES]
  for change in changes + VARIANTS[side]:
    command += ["--gin-param", change]
  launched = time.time()
  subprocess.run(command, check=True, capture_output=True, text=True, cwd=workdir)
  evals = _records((root / "eval" / "results.jsonl").read_text())
  loop_seconds = evals[-1]["wall_time"] - evals[0]["wall_time"] - sum(
      e["eval_seconds"] for e in evals[1:])
  return _summary(evals, launched, loop_seconds, threshold,
                  rlrun_final_return(root, final_episodes, seed, workdir))


def run_peer(library: str, task: str, seed: int, python: str, workdir: Path,
             final_episodes: int = 0) -> Dict[str, float]:
  _, iterations, threshold = TASKS[task]
  launched = time.time()
  out = subprocess.run(
      [python, str(REPO / "scripts" / "peer_loop.py"), "--library", library, "--task", task,
       "--seed", str(seed), "--iterations", str(iterations), "--final-episodes",
       str(final_episodes), "--final-seed", str(FINAL_EVAL_SEED + seed)],
      check=True, capture_output=True, text=True, cwd=workdir).stdout
  records = _records(out)
  evals, final = [r for r in records if "step" in r], records[-1]
  loop_seconds = final["loop_end"] - final["loop_start"] - final["eval_seconds"]
  return _summary(evals, launched, loop_seconds, threshold,
                  final.get("final_return", math.nan))


def _median(rows: List[dict], key: str) -> float:
  """The median, a run that never solved counting as slower than any that did (inf)."""
  return statistics.median(math.inf if math.isnan(r[key]) else r[key] for r in rows)


def _median_of_all(rows: List[dict], key: str) -> float:
  """The median, or nan when any run lacks the value."""
  values = [r[key] for r in rows]
  return math.nan if any(math.isnan(v) for v in values) else statistics.median(values)


def _number(value: float, digits: int) -> str:
  return "—" if math.isnan(value) or math.isinf(value) else f"{value:.{digits}f}"


def _each(rows: List[dict], key: str, digits: int) -> str:
  return ", ".join(_number(r[key], digits) for r in rows)


def _short_binding(binding: str) -> str:
  """'hidden/tf.keras.initializers.VarianceScaling.scale=1' -> 'hidden/VarianceScaling.scale=1'."""
  name, value = binding.split("=", 1)
  scope, _, path = name.rpartition("/")
  return f"{scope + '/' if scope else ''}{'.'.join(path.split('.')[-2:])}={value}"


def task_lines(task: str, results: Dict[str, List[dict]], revision: str,
               final_episodes: int = 0) -> List[str]:
  config, iterations, threshold = TASKS[task]
  changed = "".join(f", {_short_binding(c)}" for c in CHANGES[task])
  lines = [f"### {task} (`{config}`{changed}; {iterations} iterations, solved = eval return "
           f">= {threshold:g})", "",
           f"{time.strftime('%Y-%m-%d')}, rlrun at {revision}, Python "
           f"{platform.python_version()}, {len(next(iter(results.values())))} runs a side.", "",
           "| side | loop it/s per run | median it/s | s to solved per run (from launch) | "
           "median s to solved | solved runs | final eval return per run |"
           + (f" return over {final_episodes} episodes after the run, per run | median |"
              if final_episodes else ""),
           "|---|---|---|---|---|---|---|" + ("---|---|" if final_episodes else "")]
  for side, rows in results.items():
    solved = sum(not math.isnan(r["to_solved"]) for r in rows)
    lines.append(f"| {SIDES[side]} | {_each(rows, 'it_per_s', 0)} | "
                 f"**{_median(rows, 'it_per_s'):.0f}** | {_each(rows, 'to_solved', 1)} | "
                 f"**{_number(_median(rows, 'to_solved'), 1)}** | {solved} of {len(rows)} | "
                 f"{_each(rows, 'final_return', 1)} |" +
                 (f" {_each(rows, 'final_return_n', 1)} | "
                  f"**{_number(_median_of_all(rows, 'final_return_n'), 1)}** |"
                  if final_episodes else ""))
  ours = [s for s in results if s.startswith("rlrun")]
  peers = [s for s in results if not s.startswith("rlrun")]
  if ours and peers:
    lines += ["", "Ratios of medians (rlrun / peer; time to solved as peer / rlrun, so >1 is "
              "rlrun faster):", ""]
    for side in ours:
      for peer in peers:
        rate = _median(results[side], "it_per_s") / _median(results[peer], "it_per_s")
        ours_solved, theirs = (_median(results[s], "to_solved") for s in (side, peer))
        solved = ("not comparable (a median run never solved)" if math.inf in (ours_solved, theirs)
                  else f"**{theirs / ours_solved:.2f}x** faster to solved")
        lines.append(f"- {SIDES[side]} / {SIDES[peer]}: **{rate:.2f}x** the loop rate, {solved}")
  return lines + [""]


def peers_parser(description: str) -> argparse.ArgumentParser:
  """The options every side-by-side script takes: tasks, sides, runs, the peers' venv."""
  parser = venv_parser(description)
  parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS), default=sorted(TASKS))
  parser.add_argument("--sides", nargs="+", choices=list(SIDES), default=list(SIDES))
  parser.add_argument("--runs", type=int, default=3, help="runs a side per task (seeds 0..)")
  return parser


def venv_parser(description: str) -> argparse.ArgumentParser:
  """A parser with the peers' venv options and where the results go."""
  parser = argparse.ArgumentParser(
      description=description, epilog="Never part of CI: the peers' venv pulls "
      "several GB of wheels.", formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--peers-venv", type=Path,
                      default=Path.home() / ".cache" / "rlrun" / "peers-venv")
  parser.add_argument("--peers-python", default="python3.11",
                      help="python that creates the peers' venv")
  parser.add_argument("--torch-index", help="pip index for the CPU PyTorch wheel")
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  return parser


def peers_python(options: argparse.Namespace) -> Optional[str]:
  """The peers' python when a peer side runs (the venv made if missing); else None."""
  if not {"sb3", "sbx"} & set(options.sides):
    return None
  return ensure_peers_venv(options.peers_venv, options.peers_python, options.torch_index)


def revision() -> str:
  return subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                        capture_output=True, text=True).stdout.strip()


def main() -> None:
  parser = peers_parser(__doc__.splitlines()[0])
  parser.add_argument("--final-episodes", type=int, default=100,
                      help="after each run, evaluate its policy on this many episodes, a "
                      "multiple of 10 (default 100; 0: skip)")
  options = parser.parse_args()
  if options.final_episodes < 0 or options.final_episodes % 10:
    # Every side spreads the episodes over 10 environments: a remainder would go to
    # different environments (so other start states) on rlrun and on the peers.
    parser.error(f"--final-episodes must be 0 or a multiple of 10, got {options.final_episodes}")
  peer_python = peers_python(options)
  revision_now = revision()
  with tempfile.TemporaryDirectory() as tmp:
    workdir = Path(tmp)
    for task in options.tasks:
      results: Dict[str, List[dict]] = {side: [] for side in options.sides}
      for seed in range(options.runs):
        for side in options.sides:
          if side.startswith("rlrun"):
            row = run_rlrun(task, seed, workdir, side, options.final_episodes)
          else:
            row = run_peer(side, task, seed, peer_python, workdir, options.final_episodes)
          results[side].append(row)
          print(f"{task} {side} seed {seed}: {json.dumps(row)}", flush=True)
      replace_section(options.output, f"peers-{task}", task_lines(task, results, revision_now,
                                                                     options.final_episodes))
  lines = ["## rlrun against Stable-Baselines3 and SBX (`scripts/bench_peers.py`)", "",
           f"Machine: {os.cpu_count()} cores. Each task's runs: seeds 0, 1, ..., "
           "sides alternating in one invocation. Loop it/s: training iterations (1 env step + "
           "1 gradient step) per second, evaluation (10 episodes in 10 environments stepped "
           "together, every 1000 iterations) excluded on every side; rlrun saves no checkpoint "
           "or policy inside the timed loop, as the peers save none. Time to solved counts "
           "from process launch, evaluations included. Peers run scripts/peer_loop.py in "
           "their own venv with the shipped config's hyperparameters (its docstring lists "
           "what the libraries fix otherwise); final eval return = the last evaluation of "
           "the timed run; the return over N episodes after the run: the trained policy's mean "
           "over --final-episodes episodes in 10 environments, environment i of run s seeded "
           f"{FINAL_EVAL_SEED} + s + i on every side (so the runs share most start states).",
           ""]
  replace_section(options.output, "peers", lines)
  print("\n".join(lines))


if __name__ == "__main__":
  main()
