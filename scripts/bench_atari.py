"""Benchmark: Atari replay memory per transition, and the dqn_atari100k.gin loop's throughput.

  * Replay memory: 200k transitions of Pong (a seeded random policy, recorded once) are
    written into a table of 100k items built by DqnBuilder, in a fresh process per run, so
    the table fills and replaces its oldest items; the resident memory the process gains,
    divided by the items held at the end, is the cost of one transition. Rows:
    `frame_stack = 4` (each frame stored once; rlrun's Atari configs), the same into the local replay (`replay = 'local'`, what --deterministic uses) and, as
    the reference in the same invocation, `frame_stack = 1` (every step stores its whole
    [4, 84, 84] observation). The 1M-item figure is the measured cost x 1M.
  * Throughput: `rlrun train --config dqn_atari100k.gin` on Pong for --iterations
    iterations (1 agent step + 1 train step of batch 32 each) after its 1600 random steps;
    agent steps/s and train steps/s of the loop (from its evaluation records: the time
    between the first and last evaluation, minus the last evaluation), beside the same run
    at `frame_stack = 1` and, with --dopamine, Dopamine's JAX DQN in a venv of its own
    (scripts/dopamine_atari_loop.py: the same settings where Dopamine has them; made from
    DOPAMINE below when missing), which is then the reference.

Runs alternate between the rows; medians over --runs. Written to BENCHMARKS.md (sections
"atari-replay-memory" and "atari-throughput").

Usage:
  python scripts/bench_atari.py --runs 3 --iterations 1000
  python scripts/bench_atari.py --skip-memory --dopamine   # throughput beside Dopamine
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Dict, List

from benchmarks_md import replace_section
from peer_venvs import ensure_venv

REPO = Path(__file__).resolve().parent.parent
FRAME = 84 * 84
# Dopamine's venv: its last release with the JAX, TensorFlow and TFP of its time (newer jax
# breaks TFP's JAX substrate, newer TensorFlow clashes with that jaxlib's protos).
DOPAMINE = ["dopamine-rl==4.1.2", "jax[cpu]==0.4.35", "flax==0.10.1", "tensorflow==2.18.0",
            "tf-keras==2.18.0", "tensorflow-probability==0.25.0"]

RECORD = textwrap.dedent("""
    import sys, numpy as np
    from rlrun.environments import suite_atari
    count, out = int(sys.argv[1]), sys.argv[2]
    env = suite_atari.load("Pong")
    env.seed(0)
    rng = np.random.default_rng(0)
    frames = np.zeros((count, 84, 84), np.uint8)
    kinds = np.zeros((count, 3), np.int32)  # step_type, action, next_step_type
    rewards = np.zeros((count,), np.float32)
    step = env.reset()
    for i in range(count):
      action = int(rng.integers(0, 6))
      following = env.step(np.int64(action))
      frames[i] = step.observation[-1]  # frames first: the newest is last
      kinds[i] = (int(step.step_type), action, int(following.step_type))
      rewards[i] = following.reward
      step = following
    np.savez(out, frames=frames, kinds=kinds, rewards=rewards)
""")

FILL = textwrap.dedent("""
    import json, sys, types, numpy as np, tensorflow as tf
    from rlrun.builders.off_policy import DqnBuilder
    from rlrun.replay_buffers import reverb_utils
    from rlrun.trajectories.trajectory import Trajectory
    data, depth, backend = np.load(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    capacity = int(sys.argv[4])
    frames, kinds, rewards = data["frames"], data["kinds"], data["rewards"]
    spec = Trajectory(tf.TensorSpec([], tf.int32), tf.TensorSpec([4, 84, 84], tf.uint8),
                      tf.TensorSpec([], tf.int64), (), tf.TensorSpec([], tf.int32),
                      tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.float32))
    builder = DqnBuilder(frame_stack=depth)
    agent = types.SimpleNamespace(collect_data_spec=spec, train_sequence_length=2)
    table = builder.make_table(agent, max_size=capacity)
    if backend == "local":
      replay = builder.make_local_replay(agent, table, seed=0)
      writer = builder.stacked_writer(agent, replay)
    else:
      server = reverb_utils.ReplayServer([table])
      writer = builder.make_writer(server.client, agent, packed=True)
    def rss():
      with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
    stack = np.zeros((4, 84, 84), np.uint8)
    def write(i):
      global stack
      if kinds[i][0] == 0:
        stack = np.zeros((4, 84, 84), np.uint8)
      stack = np.concatenate([stack[1:], frames[i][None]], 0)
      writer(Trajectory(np.int32(kinds[i][0]), stack, np.int64(kinds[i][1]), (),
                        np.int32(kinds[i][2]), rewards[i], np.float32(1.0)))
    def held():
      return (replay.num_frames() if backend == "local" else
              server.client.server_info()[builder.table_name].current_size)
    warm = 500
    for i in range(warm):
      write(i)
    writer.flush()
    before, held_before = rss(), held()
    for i in range(warm, len(frames)):
      write(i)
    writer.flush()
    size = held()
    print(json.dumps({"bytes_per_transition": (rss() - before) / (size - held_before),
                      "items": int(size)}))
""")


def record(count: int, path: Path) -> None:
  subprocess.run([sys.executable, "-c", RECORD, str(count), str(path)], check=True)


def fill(path: Path, depth: int, backend: str, capacity: int) -> Dict[str, float]:
  out = subprocess.run([sys.executable, "-c", FILL, str(path), str(depth), backend,
                        str(capacity)], check=True,
                       capture_output=True, text=True)
  return json.loads(out.stdout.strip().splitlines()[-1])


def train(workdir: Path, iterations: int, depth: int, run: int) -> Dict[str, float]:
  root = workdir / f"train-depth{depth}-run{run}"
  bindings = [f"train.Experiment.num_iterations={iterations}",
              f"train.Experiment.eval_interval={iterations}",
              f"train.Experiment.checkpoint_interval={iterations}",
              f"train.Experiment.policy_save_interval={iterations}",
              "train.Experiment.num_eval_episodes=1",
              f"builders.DqnBuilder.frame_stack={depth}"]
  command = [sys.executable, "-m", "rlrun", "train", "--config", "dqn_atari100k.gin",
             "--root-dir", str(root)]
  for binding in bindings:
    command += ["--gin-param", binding]
  subprocess.run(command, check=True, capture_output=True, text=True, cwd=workdir)
  evals = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  seconds = evals[-1]["wall_time"] - evals[0]["wall_time"] - evals[-1]["eval_seconds"]
  return {"agent_steps_per_s": iterations / seconds}


def replay_memory(args: argparse.Namespace, workdir: Path, machine: str, date: str) -> None:
  frames = workdir / "pong.npz"
  record(args.transitions, frames)
  rows = {(4, "reverb"): "frame_stack = 4 (each frame once)",
          (4, "local"): "frame_stack = 4, `replay = 'local'` (each frame once, uncompressed)",
          (1, "reverb"): "frame_stack = 1 (whole [4, 84, 84] stacks; reference)"}
  memory: Dict[tuple, List[float]] = {row: [] for row in rows}
  for _ in range(args.runs):
    for depth, backend in memory:
      memory[depth, backend].append(
          fill(frames, depth, backend, args.capacity)["bytes_per_transition"])
      print(f"memory frame_stack={depth} {backend}: {memory[depth, backend][-1]:.0f} B",
            flush=True)
  reference = statistics.median(memory[1, "reverb"])
  lines = [
      "## Atari replay memory per transition (issue 12; `scripts/bench_atari.py`)", "",
      f"{date}, {machine}. {args.transitions:,} transitions of Pong (seeded random play) "
      f"written into a Reverb table of {args.capacity:,} items (DqnBuilder, items of 2 steps, "
      "packed), or into the local replay's, one fresh process per run, so the table fills "
      "and its oldest items are replaced; the resident memory gained / the items it holds "
      "at the end. One 84x84 "
      f"frame is {FRAME:,} bytes. Runs alternate; the median is bold.", "",
      "| replay | runs (bytes/transition) | median | frames per transition | vs whole stacks "
      "| 1M transitions |", "|---|---|---|---|---|---|"]
  for row, label in rows.items():
    median = statistics.median(memory[row])
    lines.append(f"| {label} | {', '.join(f'{v:,.0f}' for v in memory[row])} | "
                 f"**{median:,.0f}** | {median / FRAME:.3f} | {median / reference:.2f}x | "
                 f"{median * 1e6 / 2**30:.2f} GiB |")
  lines += ["", "Reverb compresses each chunk of steps, so a transition of real frames costs "
            "less than one raw frame; the local replay keeps each step's frame raw, with its "
            "other fields and the 3 blank frames before each episode. The target was at most "
            "1.25 frames."]
  replace_section(args.output, "atari-replay-memory", lines)


def dopamine(python: str, iterations: int, run: int) -> Dict[str, float]:
  out = subprocess.run([python, str(REPO / "scripts" / "dopamine_atari_loop.py"), "--game",
                        "Pong", "--iterations", str(iterations), "--seed", str(run)],
                       check=True, capture_output=True, text=True)
  return json.loads(out.stdout.strip().splitlines()[-1])


def throughput(args: argparse.Namespace, workdir: Path, machine: str, date: str) -> None:
  sides = {"frame_stack = 4": lambda run: train(workdir, args.iterations, 4, run),
           "frame_stack = 1": lambda run: train(workdir, args.iterations, 1, run)}
  reference = "frame_stack = 1"
  if args.dopamine:
    python = ensure_venv(args.dopamine_venv, args.dopamine_python,
                         "dopamine, jax, flax, ale_py", [DOPAMINE], "Dopamine's")
    sides["Dopamine JAX DQN"] = lambda run: dopamine(python, args.iterations, run)
    reference = "Dopamine JAX DQN"
  speed: Dict[str, List[float]] = {side: [] for side in sides}
  for run in range(args.runs):
    for side, measure in sides.items():
      speed[side].append(measure(run)["agent_steps_per_s"])
      print(f"throughput {side}: {speed[side][-1]:.1f} agent steps/s", flush=True)
  base = statistics.median(speed[reference])
  lines = [
      "## Atari throughput, dqn_atari100k.gin (issue 12; `scripts/bench_atari.py`)", "",
      f"{date}, {machine}. `rlrun train --config dqn_atari100k.gin` on Pong: "
      f"{args.iterations:,} iterations (1 agent step + 1 train step of batch 32, 10-step "
      "double-Q items, Nature CNN) after 1600 random steps; the loop's rate from the "
      "evaluation records (last evaluation excluded), the first update's tracing included."]
  if args.dopamine:
    lines[-1] += (f" Dopamine {DOPAMINE[0].split('==')[1]}'s JaxDQNAgent in its own venv, "
                  "driven as Dopamine's runner drives it with the same settings where it has "
                  "them (`scripts/dopamine_atari_loop.py` lists them and the differences: its "
                  "target is not double Q, its replay compresses), timed the same way from the "
                  "end of its 1600 warm-up steps, compiling included.")
  lines[-1] += " Runs alternate; the median is bold."
  lines += ["", "| loop | agent steps/s (= train steps/s) per run | median | "
            f"vs {reference} |", "|---|---|---|---|"]
  for side, values in speed.items():
    label = f"rlrun, {side}" if side.startswith("frame") else side
    median = statistics.median(values)
    lines.append(f"| {label} | {', '.join(f'{v:.1f}' for v in values)} | **{median:.1f}** | "
                 f"{median / base:.2f}x |")
  replace_section(args.output, "atari-throughput", lines)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--transitions", type=int, default=200000,
                      help="transitions written (more than --capacity: the table wraps)")
  parser.add_argument("--capacity", type=int, default=100000, help="the table's items")
  parser.add_argument("--iterations", type=int, default=1000)
  parser.add_argument("--skip-memory", action="store_true")
  parser.add_argument("--skip-throughput", action="store_true")
  parser.add_argument("--dopamine", action="store_true",
                      help="also time Dopamine's JAX DQN (its venv is made when missing)")
  parser.add_argument("--dopamine-venv", type=Path,
                      default=Path.home() / ".cache" / "rlrun" / "dopamine-venv")
  parser.add_argument("--dopamine-python", default="python3.11",
                      help="python that creates Dopamine's venv")
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  args = parser.parse_args()
  machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
  date = time.strftime("%Y-%m-%d")
  with tempfile.TemporaryDirectory(prefix="rlrun-bench-atari-") as tmp:
    workdir = Path(tmp)
    if not args.skip_memory:
      replay_memory(args, workdir, machine, date)
    if not args.skip_throughput:
      throughput(args, workdir, machine, date)


if __name__ == "__main__":
  main()
