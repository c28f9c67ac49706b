"""Benchmark: DQN on CartPole-v0, rlrun against the TF-Agents 0.19 tutorial loop, side by side.

For each seed it runs `rlrun train --config dqn_cartpole.gin` (and a strict variant with
iterations_per_call=1) and, when a TF-Agents virtualenv is given, the TF-Agents DQN tutorial's
loop with the same hyperparameters. It reports, per run:
  * loop it/s: iterations (1 collect step + 1 train step) per second of the training loop,
    evaluation time excluded on both sides (checkpoints and policy exports included for rlrun);
  * seconds until the eval AverageReturn first reaches 200, from process launch (both sides
    pay their TensorFlow import) and from the start of the training loop;
  * the best eval AverageReturn within the 20000 iterations.
Medians go to BENCHMARKS.md, with rlrun / TF-Agents ratios.

Usage:
  python scripts/bench_dqn_cartpole.py --seeds 0 1 2 3 4 \
      --tf-agents-python /path/to/tfa-venv/bin/python --reference-seeds 0 1 2

The TF-Agents venv needs tf-agents==0.19.0 (installed with --no-deps: it pins an old pygame)
next to tensorflow-cpu 2.15.1, tensorflow-probability 0.23.0, dm-reverb 0.14.0, gym 0.23.1.
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
from typing import Dict, List, Optional

from benchmarks_md import replace_section

REPO = Path(__file__).resolve().parent.parent

# The TF-Agents side: the tutorial's loop (collect 1 step with PyDriver, train 1 step from
# a Reverb dataset, evaluate 10 episodes every 1000 steps), instrumented with timers.
REFERENCE = textwrap.dedent("""
    import json, sys, time
    seed, launched = int(sys.argv[1]), float(sys.argv[2])
    import numpy as np, reverb, tensorflow as tf
    from tf_agents.agents.dqn import dqn_agent
    from tf_agents.drivers import py_driver
    from tf_agents.environments import suite_gym, tf_py_environment
    from tf_agents.networks import sequential
    from tf_agents.policies import py_tf_eager_policy, random_tf_policy
    from tf_agents.replay_buffers import reverb_replay_buffer, reverb_utils
    from tf_agents.specs import tensor_spec
    from tf_agents.utils import common

    tf.random.set_seed(seed)
    np.random.seed(seed)
    train_py_env, eval_py_env = suite_gym.load("CartPole-v0"), suite_gym.load("CartPole-v0")
    eval_env = tf_py_environment.TFPyEnvironment(eval_py_env)
    train_env = tf_py_environment.TFPyEnvironment(train_py_env)
    actions = tensor_spec.from_spec(train_env.action_spec())
    n_actions = int(actions.maximum - actions.minimum + 1)
    hidden = lambda units: tf.keras.layers.Dense(units, activation=tf.keras.activations.relu,
        kernel_initializer=tf.keras.initializers.VarianceScaling(
            scale=2.0, mode="fan_in", distribution="truncated_normal"))
    q_net = sequential.Sequential([hidden(100), hidden(50), tf.keras.layers.Dense(
        n_actions, kernel_initializer=tf.keras.initializers.RandomUniform(-0.03, 0.03),
        bias_initializer=tf.keras.initializers.Constant(-0.2))])
    agent = dqn_agent.DqnAgent(train_env.time_step_spec(), train_env.action_spec(),
        q_network=q_net, optimizer=tf.keras.optimizers.Adam(1e-3),
        td_errors_loss_fn=common.element_wise_squared_loss, train_step_counter=tf.Variable(0))
    agent.initialize()
    signature = tensor_spec.add_outer_dim(tensor_spec.from_spec(agent.collect_data_spec))
    table = reverb.Table("uniform_table", max_size=100000, sampler=reverb.selectors.Uniform(),
        remover=reverb.selectors.Fifo(), rate_limiter=reverb.rate_limiters.MinSize(1),
        signature=signature)
    server = reverb.Server([table])
    buffer = reverb_replay_buffer.ReverbReplayBuffer(agent.collect_data_spec,
        table_name="uniform_table", sequence_length=2, local_server=server)
    observer = reverb_utils.ReverbAddTrajectoryObserver(buffer.py_client, "uniform_table",
        sequence_length=2)
    random_policy = random_tf_policy.RandomTFPolicy(train_env.time_step_spec(),
                                                    train_env.action_spec())
    py_driver.PyDriver(train_py_env, py_tf_eager_policy.PyTFEagerPolicy(
        random_policy, use_tf_function=True), [observer], max_steps=100).run(train_py_env.reset())
    iterator = iter(buffer.as_dataset(num_parallel_calls=3, sample_batch_size=64,
                                      num_steps=2).prefetch(3))

    def average_return(policy, episodes=10):
      total = 0.0
      for _ in range(episodes):
        time_step = eval_env.reset()
        while not time_step.is_last():
          time_step = eval_env.step(policy.action(time_step).action)
          total += float(time_step.reward.numpy()[0])
      return total / episodes

    agent.train = common.function(agent.train)
    agent.train_step_counter.assign(0)
    loop_start = time.time()
    eval_seconds = 0.0
    def evaluate(step):
      global eval_seconds
      started = time.time()
      value = average_return(agent.policy)
      eval_seconds += time.time() - started
      print(json.dumps({"step": step, "AverageReturn": value, "wall_time": time.time()}),
            flush=True)
    evaluate(0)
    time_step = train_py_env.reset()
    driver = py_driver.PyDriver(train_py_env, py_tf_eager_policy.PyTFEagerPolicy(
        agent.collect_policy, use_tf_function=True), [observer], max_steps=1)
    for _ in range(20000):
      time_step, _ = driver.run(time_step)
      experience, _ = next(iterator)
      agent.train(experience)
      step = int(agent.train_step_counter.numpy())
      if step % 1000 == 0:
        evaluate(step)
    print(json.dumps({"loop_start": loop_start, "loop_end": time.time(),
                      "eval_seconds": eval_seconds}), flush=True)
""")


def _first_at_least(evals: List[dict], threshold: float) -> Optional[dict]:
  return next((e for e in evals if e["AverageReturn"] >= threshold), None)


def run_rlrun(seed: int, workdir: Path, bindings: List[str]) -> Dict[str, float]:
  root = workdir / f"rlrun-seed{seed}-{len(bindings)}"
  command = [sys.executable, "-m", "rlrun", "train", "--config", "dqn_cartpole.gin",
             "--root-dir", str(root), "--seed", str(seed)]
  for binding in bindings:
    command += ["--gin-param", binding]
  launched = time.time()
  subprocess.run(command, check=True, capture_output=True, text=True, cwd=workdir)
  evals = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  loop_seconds = evals[-1]["wall_time"] - evals[0]["wall_time"] - sum(
      e["eval_seconds"] for e in evals[1:])
  return _summary(evals, launched, evals[0]["wall_time"], loop_seconds)


def run_reference(seed: int, python: str, workdir: Path) -> Dict[str, float]:
  script = workdir / "tf_agents_dqn_loop.py"
  script.write_text(REFERENCE)
  launched = time.time()
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  out = subprocess.run([python, str(script), str(seed), str(launched)], check=True,
                       capture_output=True, text=True, cwd=workdir, env=env).stdout
  records = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
  evals = [r for r in records if "step" in r]
  final = records[-1]
  loop_seconds = final["loop_end"] - final["loop_start"] - final["eval_seconds"]
  return _summary(evals, launched, final["loop_start"], loop_seconds)


def _summary(evals: List[dict], launched: float, loop_start: float,
             loop_seconds: float) -> Dict[str, float]:
  hit = _first_at_least(evals, 200.0)
  return {"it_per_s": 20000 / loop_seconds,
          "to_200_from_launch": hit["wall_time"] - launched if hit else float("nan"),
          "to_200_from_loop": hit["wall_time"] - loop_start if hit else float("nan"),
          "step_200": hit["step"] if hit else float("nan"),
          "best_return": max(e["AverageReturn"] for e in evals),
          "reached_195": any(e["AverageReturn"] >= 195 for e in evals)}


def _median(rows: List[dict], key: str) -> float:
  values = [r[key] for r in rows if r[key] == r[key]]  # drop NaN (never reached 200)
  return statistics.median(values) if values else float("nan")


def _table(name: str, rows: List[dict]) -> List[str]:
  lines = [f"| {name} seed {r['seed']} | {r['it_per_s']:.0f} | {r['to_200_from_launch']:.1f} | "
           f"{r['to_200_from_loop']:.1f} | {r['step_200']} | {r['best_return']:.1f} |" for r in rows]
  lines.append(f"| **{name} median** | **{_median(rows, 'it_per_s'):.0f}** | "
               f"**{_median(rows, 'to_200_from_launch'):.1f}** | "
               f"**{_median(rows, 'to_200_from_loop'):.1f}** | {_median(rows, 'step_200')} | "
               f"{_median(rows, 'best_return'):.1f} |")
  return lines


def write_report(path: Path, results: Dict[str, List[dict]]) -> None:
  lines = ["## DQN CartPole-v0 (`scripts/bench_dqn_cartpole.py`)", "",
           f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
           f"{time.strftime('%Y-%m-%d')}. Every run: 20000 iterations of 1 collect + 1 train step, "
           "the tutorial's hyperparameters, 10 eval episodes every 1000 steps. Runs are "
           "sequential in one invocation.", "",
           "| run | loop it/s | s to eval 200 (from launch) | s to 200 (from loop start) | "
           "step of first 200 | best eval return |", "|---|---|---|---|---|---|"]
  for name, rows in results.items():
    lines += _table(name, rows)
  reference = results.get("TF-Agents 0.19")
  if reference:
    lines += ["", "Ratios of medians (rlrun / TF-Agents):", ""]
    for name, rows in results.items():
      if name == "TF-Agents 0.19":
        continue
      rate = _median(rows, "it_per_s") / _median(reference, "it_per_s")
      time_ratio = _median(rows, "to_200_from_launch") / _median(reference, "to_200_from_launch")
      lines.append(f"- {name}: {rate:.2f}x the iteration rate; time to 200 is "
                   f"{time_ratio:.2f}x TF-Agents' (from launch)")
  for name, rows in results.items():
    reached = sum(r["reached_195"] for r in rows)
    lines.append(f"- {name}: {reached} of {len(rows)} seeds reach eval AverageReturn >= 195")
  replace_section(path, "dqn-cartpole", lines)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
  parser.add_argument("--strict-seeds", type=int, nargs="*", default=[0, 1, 2],
                      help="seeds for the iterations_per_call=1 variant")
  parser.add_argument("--tf-agents-python", help="python of a venv with tf-agents 0.19")
  parser.add_argument("--reference-seeds", type=int, nargs="*", default=[0, 1, 2])
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  args = parser.parse_args()
  results: Dict[str, List[dict]] = {}
  with tempfile.TemporaryDirectory() as tmp:
    workdir = Path(tmp)
    runs = [("rlrun", args.seeds, lambda s: run_rlrun(s, workdir, [])),
            ("rlrun iterations_per_call=1", args.strict_seeds,
             lambda s: run_rlrun(s, workdir, ["train.Experiment.iterations_per_call=1"]))]
    if args.tf_agents_python:
      runs.append(("TF-Agents 0.19", args.reference_seeds,
                   lambda s: run_reference(s, args.tf_agents_python, workdir)))
    for name, seeds, fn in runs:
      for seed in seeds:
        row = dict(fn(seed), seed=seed)
        print(f"{name} seed {seed}: {json.dumps(row)}", flush=True)
        results.setdefault(name, []).append(row)
  write_report(args.output, results)
  print(f"wrote {args.output}")


if __name__ == "__main__":
  main()
