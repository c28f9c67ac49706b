"""Benchmark: PPO CartPole-v1 and TD3 Pendulum-v1 loop speed, rlrun against TF-Agents 0.19.

Side by side in one invocation, runs alternating, at equal hyperparameters:

  * PPO: rlrun's ppo_cartpole.gin (8 CartPole-v1 environments stepped as one batch, 32
    steps each per rollout, 20 epochs over the 256 steps in one minibatch, (64, 64) tanh
    actor and value networks) against TF-Agents' PPOClipAgent with the same networks,
    rollout and epochs (BatchedPyEnvironment of 8, DynamicStepDriver of 256 steps into a
    TFUniformReplayBuffer, gather_all, train, clear; observation and reward normalisation
    off, as rlrun has none).
  * TD3: rlrun's td3_pendulum.gin (1 env step + 1 train step per iteration, batch 256,
    (400, 300) networks) against TF-Agents' Td3Agent with the same networks and batch,
    collecting with PyDriver and a PyTFEagerPolicy and training from a Reverb dataset, as
    its tutorials do.

Reported: environment steps per second of the training loop (collection and training;
evaluation excluded on both sides; rlrun's includes its checkpoints and policy exports),
medians over the runs, and the rlrun / TF-Agents ratio. Written to BENCHMARKS.md (section
"ppo-td3-speed").

Usage:
  python scripts/bench_ppo_td3.py --tf-agents-python /work/tfa-venv/bin/python --runs 3

The TF-Agents venv needs tf-agents==0.19.0 (installed with --no-deps) next to tensorflow-cpu
2.15.1, tensorflow-probability 0.23.0, dm-reverb 0.14.0, gym 0.23.1, pygame (gym's classic
control imports it), numpy < 2, gin-config, pillow and typing-extensions==4.5.0 (newer ones
break TF-Agents' dict-valued specs).
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

REPO = Path(__file__).resolve().parent.parent
PPO_ITERATIONS = 100  # rollouts of 256 steps
TD3_ITERATIONS = 3000  # after 10000 random steps

PPO_REFERENCE = textwrap.dedent("""
    import json, sys, time
    seed, iterations = int(sys.argv[1]), int(sys.argv[2])
    import numpy as np, tensorflow as tf
    from tf_agents.agents.ppo import ppo_clip_agent
    from tf_agents.drivers import dynamic_step_driver
    from tf_agents.environments import batched_py_environment, suite_gym, tf_py_environment
    from tf_agents.networks import actor_distribution_network, value_network
    from tf_agents.replay_buffers import tf_uniform_replay_buffer
    from tf_agents.utils import common

    tf.random.set_seed(seed)
    envs = [suite_gym.load("CartPole-v1") for _ in range(8)]
    for i, env in enumerate(envs):
      env.seed(seed + i)
    env = tf_py_environment.TFPyEnvironment(batched_py_environment.BatchedPyEnvironment(envs))
    tanh = tf.keras.activations.tanh
    actor = actor_distribution_network.ActorDistributionNetwork(
        env.observation_spec(), env.action_spec(), fc_layer_params=(64, 64), activation_fn=tanh)
    value = value_network.ValueNetwork(env.observation_spec(), fc_layer_params=(64, 64),
                                       activation_fn=tanh)
    agent = ppo_clip_agent.PPOClipAgent(
        env.time_step_spec(), env.action_spec(), optimizer=tf.keras.optimizers.Adam(1e-3),
        actor_net=actor, value_net=value, importance_ratio_clipping=0.2, lambda_value=0.8,
        discount_factor=0.98, entropy_regularization=0.0, num_epochs=20, use_gae=True,
        normalize_observations=False, normalize_rewards=False, gradient_clipping=0.5,
        value_pred_loss_coef=0.5, train_step_counter=tf.Variable(0, dtype=tf.int64))
    agent.initialize()
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(agent.collect_data_spec,
                                                            batch_size=8, max_length=40)
    driver = dynamic_step_driver.DynamicStepDriver(env, agent.collect_policy,
                                                   observers=[buffer.add_batch], num_steps=256)
    driver.run = common.function(driver.run)
    agent.train = common.function(agent.train)
    def iteration():
      driver.run()
      agent.train(buffer.gather_all())
      buffer.clear()
    iteration()  # tracing
    start = time.time()
    for _ in range(iterations):
      iteration()
    print(json.dumps({"seconds": time.time() - start, "env_steps": 256 * iterations}))
""")

TD3_REFERENCE = textwrap.dedent("""
    import json, sys, time
    seed, iterations = int(sys.argv[1]), int(sys.argv[2])
    import numpy as np, reverb, tensorflow as tf
    from tf_agents.agents.ddpg import actor_network, critic_network
    from tf_agents.agents.td3 import td3_agent
    from tf_agents.drivers import py_driver
    from tf_agents.environments import suite_gym
    from tf_agents.policies import py_tf_eager_policy, random_py_policy
    from tf_agents.replay_buffers import reverb_replay_buffer, reverb_utils
    from tf_agents.specs import tensor_spec

    tf.random.set_seed(seed)
    env = suite_gym.load("Pendulum-v1")
    env.seed(seed)
    observation_spec, action_spec, time_step_spec = (
        tensor_spec.from_spec(s) for s in (env.observation_spec(), env.action_spec(),
                                           env.time_step_spec()))
    actor = actor_network.ActorNetwork(observation_spec, action_spec, fc_layer_params=(400, 300))
    critic = critic_network.CriticNetwork((observation_spec, action_spec),
                                          joint_fc_layer_params=(400, 300))
    agent = td3_agent.Td3Agent(
        time_step_spec, action_spec, actor_network=actor, critic_network=critic,
        actor_optimizer=tf.keras.optimizers.Adam(1e-3),
        critic_optimizer=tf.keras.optimizers.Adam(1e-3), exploration_noise_std=0.2,
        target_update_tau=0.005, target_update_period=1, actor_update_period=2, gamma=0.98,
        target_policy_noise=0.4, target_policy_noise_clip=1.0,
        train_step_counter=tf.Variable(0, dtype=tf.int64))
    agent.initialize()
    signature = tensor_spec.add_outer_dim(tensor_spec.from_spec(agent.collect_data_spec))
    table = reverb.Table("uniform_table", max_size=200000, sampler=reverb.selectors.Uniform(),
                         remover=reverb.selectors.Fifo(),
                         rate_limiter=reverb.rate_limiters.MinSize(1), signature=signature)
    server = reverb.Server([table])
    buffer = reverb_replay_buffer.ReverbReplayBuffer(agent.collect_data_spec, "uniform_table",
                                                     sequence_length=2, local_server=server)
    observer = reverb_utils.ReverbAddTrajectoryObserver(buffer.py_client, "uniform_table",
                                                        sequence_length=2)
    random_policy = random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec())
    py_driver.PyDriver(env, random_policy, [observer], max_steps=10000).run(env.reset())
    iterator = iter(buffer.as_dataset(num_parallel_calls=3, sample_batch_size=256,
                                      num_steps=2).prefetch(3))
    train = tf.function(agent.train)
    driver = py_driver.PyDriver(env, py_tf_eager_policy.PyTFEagerPolicy(
        agent.collect_policy, use_tf_function=True), [observer], max_steps=1)
    time_step = env.reset()
    for _ in range(10):  # tracing
      time_step, _ = driver.run(time_step)
      train(next(iterator)[0])
    start = time.time()
    for _ in range(iterations):
      time_step, _ = driver.run(time_step)
      train(next(iterator)[0])
    print(json.dumps({"seconds": time.time() - start, "env_steps": iterations}))
""")


def run_rlrun(config: str, iterations: int, steps_per_iteration: int, seed: int, work: Path,
              bindings: List[str], task_index: int) -> float:
  """Environment steps per second of rlrun's loop (evaluations excluded)."""
  root = work / f"rlrun-{task_index}-{config}-{seed}"  # a fresh run per task and seed
  command = [sys.executable, "-m", "rlrun", "train", "--config", config, "--root-dir", str(root),
             "--seed", str(seed), "--gin-param", f"train.Experiment.num_iterations={iterations}",
             "--gin-param", f"train.Experiment.eval_interval={iterations}"]
  for binding in bindings:
    command += ["--gin-param", binding]
  subprocess.run(command, check=True, capture_output=True, text=True, cwd=work)
  evals = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  seconds = evals[-1]["wall_time"] - evals[0]["wall_time"] - evals[-1]["eval_seconds"]
  return iterations * steps_per_iteration / seconds


def run_reference(script: str, iterations: int, seed: int, python: str, work: Path) -> float:
  path = work / "reference.py"
  path.write_text(script)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", OPENBLAS_NUM_THREADS="1")
  out = subprocess.run([python, str(path), str(seed), str(iterations)], check=True,
                       capture_output=True, text=True, cwd=work, env=env).stdout
  record = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
  return record["env_steps"] / record["seconds"]


TASKS = {
    "PPO CartPole-v1": dict(config="ppo_cartpole.gin", iterations=PPO_ITERATIONS,
                            steps_per_iteration=256, reference=PPO_REFERENCE,
                            bindings=["agents.PpoAgent.linear_decay_steps=None"]),
    # rlrun's first 10000 steps are random in both loops; only the iterations after count.
    "TD3 Pendulum-v1": dict(config="td3_pendulum.gin", iterations=TD3_ITERATIONS,
                            steps_per_iteration=1, reference=TD3_REFERENCE, bindings=[]),
    # The same config with the seeded in-process replay instead of the Reverb server.
    "TD3 Pendulum-v1, replay='local'": dict(
        config="td3_pendulum.gin", iterations=TD3_ITERATIONS, steps_per_iteration=1,
        reference=TD3_REFERENCE, bindings=["train.Experiment.replay='local'"]),
    # 32 iterations per actor/learner call (the collect policy's weights refreshed every 32
    # steps) and the next group collected while the learner trains, as bench_peers.py's
    # grouped side: execution settings, the hyperparameters stay equal. Reverb replay.
    "TD3 Pendulum-v1, 32 per call, overlapped": dict(
        config="td3_pendulum.gin", iterations=TD3_ITERATIONS, steps_per_iteration=1,
        reference=TD3_REFERENCE, bindings=["train.Experiment.iterations_per_call=32",
                                           "train.Experiment.overlap_collection=True"]),
    # The same grouped execution on the seeded in-process replay: `rlrun train --fast`.
    "TD3 Pendulum-v1, local, 32 per call, overlapped": dict(
        config="td3_pendulum.gin", iterations=TD3_ITERATIONS, steps_per_iteration=1,
        reference=TD3_REFERENCE, bindings=["train.Experiment.fast=True"]),
}


def _earlier_rows(path: Path) -> Dict[str, str]:
  """The table rows already in BENCHMARKS.md, by task (kept for the tasks not rerun)."""
  text = path.read_text() if path.exists() else ""
  return {line.split("|")[1].strip(): line for line in text.splitlines()
          if line.startswith("| ") and line.split("|")[1].strip() in TASKS}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--tf-agents-python", required=True,
                      help="python of a venv with tf-agents 0.19")
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS),
                      help="the rows to run (rows not run keep their figures in the table)")
  options = parser.parse_args()
  tasks = {name: TASKS[name] for name in options.tasks}
  rates: Dict[str, Dict[str, List[float]]] = {t: {"rlrun": [], "TF-Agents": []} for t in tasks}
  with tempfile.TemporaryDirectory() as work:
    for run in range(options.runs):
      for index, (task, spec) in enumerate(tasks.items()):  # alternate: drift hits both
        rates[task]["rlrun"].append(run_rlrun(spec["config"], spec["iterations"],
                                              spec["steps_per_iteration"], run, Path(work),
                                              spec["bindings"], index))
        rates[task]["TF-Agents"].append(run_reference(spec["reference"], spec["iterations"],
                                                      run, options.tf_agents_python, Path(work)))
        print(task, {side: f"{values[-1]:.0f}" for side, values in rates[task].items()},
              flush=True)
  lines = ["## PPO and TD3 loop speed against TF-Agents (`scripts/bench_ppo_td3.py`)", "",
           f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
           f"{time.strftime('%Y-%m-%d')}. {options.runs} runs per side, alternating in one "
           f"invocation; environment steps per second of the training loop, evaluation "
           f"excluded. PPO: {PPO_ITERATIONS} rollouts of 8 x 32 steps, 20 epochs each. TD3: "
           f"{TD3_ITERATIONS} iterations of 1 step + 1 train step (batch 256) after 10000 "
           "random steps.", "", "| task | rlrun env steps/s per run | TF-Agents per run | "
           "rlrun median | TF-Agents median | ratio (date) |", "|---|---|---|---|---|---|"]
  rows = _earlier_rows(options.output)
  for task, sides in rates.items():
    ours, theirs = statistics.median(sides["rlrun"]), statistics.median(sides["TF-Agents"])
    rows[task] = (f"| {task} | {', '.join(f'{r:.0f}' for r in sides['rlrun'])} | "
                  f"{', '.join(f'{r:.0f}' for r in sides['TF-Agents'])} | {ours:.0f} | "
                  f"{theirs:.0f} | **{ours / theirs:.2f}x** ({time.strftime('%Y-%m-%d')}) |")
  lines += [rows[task] for task in TASKS if task in rows]
  replace_section(options.output, "ppo-td3-speed", lines)
  print("\n".join(lines))


if __name__ == "__main__":
  main()
