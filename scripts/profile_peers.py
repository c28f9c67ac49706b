"""Benchmark: where one training iteration's time goes, rlrun beside SB3 and SBX (never part of CI).

NOT FOR CI: the peers' virtualenv (made by scripts/bench_peers.py's rules) pulls several GB
of wheels. Run by hand.

For each task of scripts/bench_peers.py (DQN CartPole-v0, SAC Pendulum-v1, with the same
settings on every side) and each side (rlrun with Reverb, with replay='local', grouped and
overlapped; SB3; SBX), --runs fresh processes alternating between the sides. Each process
fills its replay with the warm-up steps, runs 200 iterations (tracing, JIT), then times
--iterations iterations of its training loop (1 env step + 1 gradient step each, no
evaluation) in wall and process-CPU time, and then times each piece of an iteration alone on
its own objects: the env step, the collect action, the replay insert, a replay sample, the
gradient step. rlrun's gradient step runs on a cached batch; the peers' train call samples
its own batch, so their gradient step is that call minus a replay sample. The rest is the
loop's time per iteration minus the pieces: bookkeeping, callbacks, logging, summaries, and
negative where pieces overlap (rlrun's sampler threads prefetch while the step trains).
rlrun's timed loop is the trainer's groups (collect, train, publish weights) without the
progress line and triggers `rlrun train` adds per group; the peers' timed loop is their
`learn()`, logger and callbacks included. bench_peers.py times both sides' whole commands.
Medians of the runs go to BENCHMARKS.md, section "peers-profile".

Usage:
  python scripts/profile_peers.py                      # both tasks, 3 runs a side
  python scripts/profile_peers.py --tasks sac_pendulum --runs 1 --iterations 500
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
from typing import Dict, List

from bench_peers import (CHANGES, NO_SAVES, SIDES, TASKS, VARIANTS, peers_parser, peers_python,
                         revision)
from benchmarks_md import replace_section
from iteration_split import ENV, INSERT, POLICY, SAMPLE, TRAIN, measure_split

REPO = Path(__file__).resolve().parent.parent
WARMUP = 200  # iterations before the timed loop: tracing, XLA, JIT
# Table rows: (label, rlrun's piece, the peers' piece).
PIECES = [("env step", ENV, "env step"),
          ("collect action (policy inference, exploration)", POLICY, "collect action (policy)"),
          ("replay insert", INSERT, "replay insert"),
          ("replay sample (one batch)", SAMPLE, "replay sample")]
GRADIENT = "gradient step (sampling excluded)"


def rlrun_worker(task: str, side: str, seed: int, iterations: int, steps: int,
                 batches: int) -> dict:
  """One rlrun process: the timed loop, then the pieces alone (scripts/iteration_split.py)."""
  from rlrun import configs
  from rlrun.train.experiment import Experiment
  config, _, _ = TASKS[task]
  total = WARMUP + iterations
  bindings = CHANGES[task] + [s.format(iterations=10 ** 9) for s in NO_SAVES] + VARIANTS[side]
  configs.parse(configs.resolve(config), bindings + [
      f"train.Experiment.num_iterations={total}", f"train.Experiment.seed={seed}",
      "train.Experiment.eval_interval=1000000000"])
  with tempfile.TemporaryDirectory() as root:
    experiment = Experiment(root_dir=root)
    experiment.build()
    experiment.progress = None
    experiment.initial_collect()
    group = experiment.settings.iterations_per_call
    trainer, done = experiment.trainer, 0
    while done < WARMUP:
      trainer.run_group(group)
      done += group
    count = 0
    wall, cpu = time.perf_counter(), time.process_time()
    while count < iterations:
      trainer.run_group(group)
      count += group
    loop = {"wall_us": 1e6 * (time.perf_counter() - wall) / count,
            "cpu_us": 1e6 * (time.process_time() - cpu) / count}
    split = measure_split(experiment, steps, batches, train_steps=batches)
    experiment.close()
  pieces = {label: split[ours] for label, ours, _ in PIECES}
  pieces[GRADIENT] = split[TRAIN]
  return {"loop": loop, "pieces": pieces}


def peer_run(python: str, library: str, task: str, seed: int, iterations: int, steps: int,
             batches: int, workdir: Path) -> dict:
  out = subprocess.run(
      [python, str(REPO / "scripts" / "peer_loop.py"), "--library", library, "--task", task,
       "--seed", str(seed), "--iterations", str(iterations), "--profile", "--profile-steps",
       str(steps), "--profile-batches", str(batches)],
      check=True, capture_output=True, text=True, cwd=workdir).stdout
  result = json.loads(out.strip().splitlines()[-1])
  theirs = result["pieces"]
  pieces = {label: theirs[peer] for label, _, peer in PIECES}
  train = theirs["train call (samples its batch)"]
  pieces[GRADIENT] = {k: train[k] - theirs["replay sample"][k] for k in train}
  return {"loop": result["loop"], "pieces": pieces}


def _with_rest(row: dict) -> dict:
  rest = {k: row["loop"][k] - sum(p[k] for p in row["pieces"].values())
          for k in ("wall_us", "cpu_us")}
  return {**row["pieces"], "the rest (loop minus the pieces)": rest,
          "whole loop, per iteration": row["loop"]}


def _median_table(rows: List[dict]) -> Dict[str, Dict[str, float]]:
  tables = [_with_rest(r) for r in rows]
  return {piece: {k: statistics.median(t[piece][k] for t in tables) for k in ("wall_us", "cpu_us")}
          for piece in tables[0]}


def task_lines(task: str, results: Dict[str, List[dict]], iterations: int) -> List[str]:
  medians = {side: _median_table(rows) for side, rows in results.items()}
  sides = list(results)
  lines = [f"### {task} (`{TASKS[task][0]}`, bench_peers.py's settings), "
           f"{time.strftime('%Y-%m-%d')}, {len(next(iter(results.values())))} runs a side",
           "", "Microseconds per iteration, wall (process CPU, all threads); medians. "
           f"Loop: {iterations} timed iterations.", "",
           "| piece | " + " | ".join(SIDES[s] for s in sides) + " |",
           "|---|" + "---|" * len(sides)]
  for piece in medians[sides[0]]:
    cells = [f"{medians[s][piece]['wall_us']:.0f} ({medians[s][piece]['cpu_us']:.0f})"
             for s in sides]
    if piece.startswith("whole"):
      cells = [f"**{c}**" for c in cells]
    lines.append(f"| {piece} | " + " | ".join(cells) + " |")
  rates = ", ".join(f"{SIDES[s]} {1e6 / medians[s]['whole loop, per iteration']['wall_us']:.0f}"
                    for s in sides)
  return lines + ["", f"Loop rate from the medians (it/s): {rates}.", ""]


def main() -> None:
  parser = peers_parser(__doc__.splitlines()[0])
  parser.add_argument("--iterations", type=int, default=2000, help="timed loop iterations")
  parser.add_argument("--steps", type=int, default=2000,
                      help="env steps, policy calls and inserts timed alone")
  parser.add_argument("--batches", type=int, default=400,
                      help="replay samples and gradient steps timed alone")
  parser.add_argument("--worker", nargs=3, metavar=("TASK", "SIDE", "SEED"),
                      help=argparse.SUPPRESS)
  options = parser.parse_args()
  if options.worker:
    task, side, seed = options.worker
    print(json.dumps(rlrun_worker(task, side, int(seed), options.iterations, options.steps,
                                  options.batches)), flush=True)
    return
  peer_python = peers_python(options)
  sections = []
  with tempfile.TemporaryDirectory() as tmp:
    for task in options.tasks:
      results: Dict[str, List[dict]] = {side: [] for side in options.sides}
      for seed in range(options.runs):
        for side in options.sides:
          if side.startswith("rlrun"):
            out = subprocess.run(
                [sys.executable, __file__, "--worker", task, side, str(seed), "--iterations",
                 str(options.iterations), "--steps", str(options.steps), "--batches",
                 str(options.batches)], check=True, capture_output=True, text=True, cwd=tmp)
            row = json.loads(out.stdout.strip().splitlines()[-1])
          else:
            row = peer_run(peer_python, side, task, seed, options.iterations, options.steps,
                           options.batches, Path(tmp))
          results[side].append(row)
          print(f"{task} {side} run {seed}: loop {row['loop']['wall_us']:.0f} us/iteration",
                flush=True)
      sections += task_lines(task, results, options.iterations)
  lines = ["## Where an iteration's time goes, rlrun beside SB3 and SBX "
           "(`scripts/profile_peers.py`)", "",
           f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, rlrun at "
           f"{revision()}. The settings are bench_peers.py's (its tables above). Each piece is "
           "timed alone after the loop, on the run's own objects (see the script's docstring); "
           "the rest is the loop minus the pieces.", ""] + sections
  replace_section(options.output, "peers-profile", lines)
  print("\n".join(lines))


if __name__ == "__main__":
  main()
