"""Micro-benchmarks: replay buffer add/sample throughput and driver steps/s on CartPole.

Replay: the CartPole DQN Trajectory spec (what dqn_cartpole.gin stores), for
  * TFUniformReplayBuffer (batch_size 1, add_batch of one step, as in the tutorials),
  * PyUniformReplayBuffer,
  * ReverbReplayBuffer with a packed table (rlrun's default) and with one column per field,
    written through ReverbAddTrajectoryObserver;
it reports steps added per second and batches of 64 sequences of 2 sampled per second
through as_dataset (the learner's path).
Drivers: PyDriver (numpy random policy) vs DynamicStepDriver (in-graph, RandomTFPolicy) on
CartPole-v0, environment steps per second.

Each number is the median of --repeats runs; results go to BENCHMARKS.md between markers.

Usage: python scripts/bench_replay_and_drivers.py [--repeats 3] [--steps 5000]
"""

import argparse
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
import tensorflow as tf

from benchmarks_md import replace_section
from rlrun.environments import suite_gym
from rlrun.environments.tf_py_environment import TFPyEnvironment
from rlrun.policies.random_py_policy import RandomPyPolicy
from rlrun.policies.random_tf_policy import RandomTFPolicy
from rlrun.specs import tensor_spec
from rlrun.trajectories import Trajectory

REPO = Path(__file__).resolve().parent.parent
BATCH, SAMPLES = 64, 200


def cartpole_spec() -> Trajectory:
  env = suite_gym.load("CartPole-v0")
  time_step_spec = tensor_spec.from_spec(env.time_step_spec())
  return Trajectory(step_type=time_step_spec.step_type, observation=time_step_spec.observation,
                    action=tensor_spec.from_spec(env.action_spec()), policy_info=(),
                    next_step_type=time_step_spec.step_type, reward=time_step_spec.reward,
                    discount=time_step_spec.discount)


def random_steps(count: int, rng: np.random.Generator) -> List[Trajectory]:
  """A stream of CartPole-like steps with episodes of 20 (boundary every 20th step)."""
  steps = []
  for i in range(count):
    position = i % 21
    step_type = 2 if position == 20 else (0 if position == 0 else 1)
    next_type = 0 if position == 20 else (2 if position == 19 else 1)
    steps.append(Trajectory(np.int32(step_type), rng.standard_normal(4).astype(np.float32),
                            np.int64(rng.integers(2)), (), np.int32(next_type), np.float32(1),
                            np.float32(next_type != 2)))
  return steps


def time_it(fn: Callable[[], int]) -> float:
  """Runs fn (which returns an item count) and returns items per second."""
  started = time.perf_counter()
  count = fn()
  return count / (time.perf_counter() - started)


def sample_rate(dataset: tf.data.Dataset) -> float:
  iterator = iter(dataset)
  next(iterator)
  def pull():
    for _ in range(SAMPLES):
      next(iterator)
    return SAMPLES
  return time_it(pull)


def bench_tf_uniform(spec, steps) -> Dict[str, float]:
  from rlrun.replay_buffers.tf_uniform_replay_buffer import TFUniformReplayBuffer
  buffer = TFUniformReplayBuffer(spec, batch_size=1, max_length=len(steps))
  add = tf.function(buffer.add_batch)
  batched = [tf.nest.map_structure(lambda x: tf.constant(np.asarray(x)[None]), s) for s in steps]
  add(batched[0])
  def add_all():
    for item in batched[1:]:
      add(item)
    return len(batched) - 1
  return {"add": time_it(add_all),
          "sample": sample_rate(buffer.as_dataset(BATCH, num_steps=2).prefetch(4))}


def bench_py_uniform(spec, steps) -> Dict[str, float]:
  from rlrun.replay_buffers.py_uniform_replay_buffer import PyUniformReplayBuffer
  buffer = PyUniformReplayBuffer(tensor_spec.to_nest_array_spec(spec), capacity=len(steps))
  batched = [tf.nest.map_structure(lambda x: np.asarray(x)[None], s) for s in steps]
  def add_all():
    for item in batched:
      buffer.add_batch(item)
    return len(batched)
  return {"add": time_it(add_all),
          "sample": sample_rate(buffer.as_dataset(BATCH, num_steps=2).prefetch(4))}


def bench_reverb(spec, steps, packed: bool) -> Dict[str, float]:
  from rlrun.replay_buffers import reverb_utils
  from rlrun.replay_buffers.reverb_replay_buffer import ReverbReplayBuffer
  table = reverb_utils.make_table("t", spec, 2, max_size=len(steps), packed=packed)
  server = reverb_utils.ReplayServer([table])
  try:
    buffer = ReverbReplayBuffer(spec, "t", 2, local_server=server)
    observer = reverb_utils.ReverbAddTrajectoryObserver(buffer.py_client, "t", 2,
                                                        codec=buffer.codec)
    def add_all():
      for step in steps:
        observer(step)
      observer.flush()
      return len(steps)
    add = time_it(add_all)
    dataset = buffer.as_dataset(BATCH, num_steps=2, num_workers=2).prefetch(4)
    return {"add": add, "sample": sample_rate(dataset)}
  finally:
    server.stop()


def bench_drivers(steps: int) -> Dict[str, float]:
  from rlrun.drivers.dynamic_step_driver import DynamicStepDriver
  from rlrun.drivers.py_driver import PyDriver
  env = suite_gym.load("CartPole-v0", seed=0)
  policy = RandomPyPolicy(env.time_step_spec(), env.action_spec(), seed=0)
  driver = PyDriver(env, policy, [], max_steps=steps)
  py_rate = time_it(lambda: (driver.run(env.reset()), steps)[1])
  tf_env = TFPyEnvironment(suite_gym.load("CartPole-v0", seed=0))
  tf_policy = RandomTFPolicy(tf_env.time_step_spec(), tf_env.action_spec())
  tf_driver = DynamicStepDriver(tf_env, tf_policy, [], num_steps=steps)
  tf_driver.run()  # trace
  tf_rate = time_it(lambda: (tf_driver.run(), steps)[1])
  return {"PyDriver (numpy policy)": py_rate, "DynamicStepDriver (in-graph)": tf_rate}


def write_report(path: Path, replay: Dict[str, Dict[str, float]],
                 drivers: Dict[str, float], repeats: int) -> None:
  lines = ["## Replay buffers and drivers (`scripts/bench_replay_and_drivers.py`)", "",
           f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
           f"{time.strftime('%Y-%m-%d')}; medians of {repeats} runs. CartPole DQN Trajectory "
           f"items; sampling = batches of {BATCH} sequences of 2 through as_dataset.", "",
           "| buffer | steps added / s | batches sampled / s | sampled sequences / s |",
           "|---|---|---|---|"]
  for name, row in replay.items():
    lines.append(f"| {name} | {row['add']:.0f} | {row['sample']:.0f} | "
                 f"{row['sample'] * BATCH:.0f} |")
  lines += ["", "| driver on CartPole-v0, random policy | env steps / s |", "|---|---|"]
  lines += [f"| {name} | {rate:.0f} |" for name, rate in drivers.items()]
  replace_section(path, "replay-drivers", lines)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--steps", type=int, default=5000)
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  args = parser.parse_args()
  spec = cartpole_spec()
  steps = random_steps(args.steps, np.random.default_rng(0))
  benches = {"TFUniformReplayBuffer": lambda: bench_tf_uniform(spec, steps),
             "PyUniformReplayBuffer": lambda: bench_py_uniform(spec, steps),
             "ReverbReplayBuffer, packed table": lambda: bench_reverb(spec, steps, True),
             "ReverbReplayBuffer, column per field": lambda: bench_reverb(spec, steps, False)}
  replay = {}
  for name, bench in benches.items():
    runs = [bench() for _ in range(args.repeats)]
    replay[name] = {k: statistics.median(r[k] for r in runs) for k in ("add", "sample")}
    print(name, replay[name], flush=True)
  driver_runs = [bench_drivers(args.steps) for _ in range(args.repeats)]
  drivers = {k: statistics.median(r[k] for r in driver_runs) for k in driver_runs[0]}
  print(drivers)
  write_report(args.output, replay, drivers, args.repeats)
  print(f"wrote {args.output}")


if __name__ == "__main__":
  main()
