"""Benchmark: SAC on MinitaurBulletEnv-v0, rlrun against the TF-Agents 0.19 tutorial loop.

Both sides use the hyperparameters of the TF-Agents SAC Minitaur (Actor-Learner) tutorial:
10000 random initial collect steps into a Reverb table of 10000 items, batch 256, Adam 3e-4
(actor, critic, alpha), tau 0.005, gamma 0.99, actor and critic (256, 256). Each run is a
fresh process; runs alternate between the sides. Per run it measures:
  * the random initial collect (--initial-collect-steps): seconds;
  * the first learner call (tracing, dataset iterator creation): seconds;
  * after --warmup more iterations, --iterations iterations of the training loop (1 collect
    step + 1 train step each; evaluation stripped on both sides): iterations/s, and the
    process CPU time over the loop's wall time (2.0 = two cores busy);
  * after the timed loop, the greedy policy's mean return over --eval-episodes episodes
    (the learning result at the end of the timed run, each side).
The TF-Agents side is the tutorial's loop (collect Actor run() of 1 step, then
Learner.run(iterations=1)), run in a TF-Agents virtualenv with timers around both calls.
The rlrun side runs the Experiment of gin_configs/sac_minitaur.gin (groups of 8 iterations,
the next group collected in a thread while the learner trains) and, after its loop, times
the pieces of an iteration one at a time: environment step (random actions, episode resets
included), policy inference (the numpy collect policy, and the TF collect policy through a
tf.function for reference), replay insert (the Reverb observer), replay sample (batches of
256 from the learner's dataset) and the train step on a cached batch (no replay I/O).
With --grouped-local, a second rlrun side runs the same config as `rlrun train --fast` does
(its binding train.Experiment.fast=True): the seeded in-process replay and groups of 32
iterations (the collect policy's weights refreshed every 32 steps), as
scripts/bench_peers.py's grouped side does.
Medians go to BENCHMARKS.md, with each rlrun side's ratio to TF-Agents against issue 4's 2.5x
and issue 15's 4x targets.

Usage:
  python scripts/bench_sac_minitaur.py --tf-agents-python /work/tfa-venv/bin/python
  python scripts/bench_sac_minitaur.py --tf-agents-python /work/tfa-venv/bin/python \
      --grouped-local
  # a quick check:
  python scripts/bench_sac_minitaur.py --tf-agents-python /work/tfa-venv/bin/python \
      --runs 1 --initial-collect-steps 1000 --warmup 80 --iterations 200 --split-scale 0.1

The TF-Agents venv needs tf-agents==0.19.0 (installed with --no-deps) next to tensorflow-cpu
2.15.1, tensorflow-probability 0.23.0, dm-reverb 0.14.0, gym 0.23.1 and pybullet 3.2.7.
"""

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Dict, List

from benchmarks_md import replace_section
from iteration_split import ENV, INSERT, POLICY, SAMPLE, TRAIN, measure_split

REPO = Path(__file__).resolve().parent.parent
TARGETS = ((2.5, "issue 4"), (4.0, "issue 15"))
ISSUE_RATE = 50.0  # TF-Agents it/s quoted in the issue.
ISSUE_INITIAL_COLLECT = 33.0  # seconds, ditto.
SHIPPED = "rlrun"
GROUPED = "rlrun --fast (local, 32 per call, overlapped)"
# What each rlrun side changes of sac_minitaur.gin (which groups 8 iterations per call and
# overlaps collection with training already): the grouped side is `rlrun train --fast`'s
# binding (the in-process replay, 32 iterations per call, overlapped collection).
SIDE_BINDINGS = {SHIPPED: [], GROUPED: ["train.Experiment.fast=True"]}
# Timed spans are whole groups of the largest group size, so no other size is traced.
GROUP = 32

# The TF-Agents side: the tutorial's code (CPU, default strategy), eval stripped, timers
# around the initial collect, the first learner call and the steady-state loop.
REFERENCE = textwrap.dedent("""
    import json, os, sys, time
    seed, initial_steps, warmup, iterations, workdir, eval_episodes = (
        int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5],
        int(sys.argv[6]))
    started = time.perf_counter()
    import numpy as np
    import reverb
    import tensorflow as tf
    from tf_agents.agents.ddpg import critic_network
    from tf_agents.agents.sac import sac_agent
    from tf_agents.agents.sac import tanh_normal_projection_network
    from tf_agents.environments import suite_pybullet
    from tf_agents.metrics import py_metrics
    from tf_agents.networks import actor_distribution_network
    from tf_agents.policies import py_tf_eager_policy
    from tf_agents.policies import random_py_policy
    from tf_agents.replay_buffers import reverb_replay_buffer
    from tf_agents.replay_buffers import reverb_utils
    from tf_agents.train import actor
    from tf_agents.train import learner
    from tf_agents.train import triggers
    from tf_agents.train.utils import spec_utils
    from tf_agents.train.utils import strategy_utils
    from tf_agents.train.utils import train_utils
    import_seconds = time.perf_counter() - started

    tf.random.set_seed(seed)
    np.random.seed(seed)
    build_started = time.perf_counter()
    collect_env = suite_pybullet.load("MinitaurBulletEnv-v0")
    collect_env.seed(seed)
    strategy = strategy_utils.get_strategy(tpu=False, use_gpu=False)
    observation_spec, action_spec, time_step_spec = spec_utils.get_tensor_specs(collect_env)
    with strategy.scope():
      critic_net = critic_network.CriticNetwork(
          (observation_spec, action_spec), observation_fc_layer_params=None,
          action_fc_layer_params=None, joint_fc_layer_params=(256, 256),
          kernel_initializer="glorot_uniform", last_kernel_initializer="glorot_uniform")
      actor_net = actor_distribution_network.ActorDistributionNetwork(
          observation_spec, action_spec, fc_layer_params=(256, 256),
          continuous_projection_net=(
              tanh_normal_projection_network.TanhNormalProjectionNetwork))
      train_step = train_utils.create_train_step()
      tf_agent = sac_agent.SacAgent(
          time_step_spec, action_spec, actor_network=actor_net, critic_network=critic_net,
          actor_optimizer=tf.keras.optimizers.Adam(learning_rate=3e-4),
          critic_optimizer=tf.keras.optimizers.Adam(learning_rate=3e-4),
          alpha_optimizer=tf.keras.optimizers.Adam(learning_rate=3e-4),
          target_update_tau=0.005, target_update_period=1,
          td_errors_loss_fn=tf.math.squared_difference, gamma=0.99, reward_scale_factor=1.0,
          train_step_counter=train_step)
      tf_agent.initialize()
    table_name = "uniform_table"
    table = reverb.Table(table_name, max_size=10000, sampler=reverb.selectors.Uniform(),
                         remover=reverb.selectors.Fifo(),
                         rate_limiter=reverb.rate_limiters.MinSize(1))
    reverb_server = reverb.Server([table])
    reverb_replay = reverb_replay_buffer.ReverbReplayBuffer(
        tf_agent.collect_data_spec, sequence_length=2, table_name=table_name,
        local_server=reverb_server)
    dataset = reverb_replay.as_dataset(sample_batch_size=256, num_steps=2).prefetch(50)
    experience_dataset_fn = lambda: dataset
    collect_policy = py_tf_eager_policy.PyTFEagerPolicy(tf_agent.collect_policy,
                                                        use_tf_function=True)
    random_policy = random_py_policy.RandomPyPolicy(collect_env.time_step_spec(),
                                                    collect_env.action_spec())
    rb_observer = reverb_utils.ReverbAddTrajectoryObserver(
        reverb_replay.py_client, table_name, sequence_length=2, stride_length=1)
    build_seconds = time.perf_counter() - build_started

    started = time.perf_counter()
    initial_collect_actor = actor.Actor(collect_env, random_policy, train_step,
                                        steps_per_run=initial_steps, observers=[rb_observer])
    initial_collect_actor.run()
    initial_collect_seconds = time.perf_counter() - started

    env_step_metric = py_metrics.EnvironmentSteps()
    collect_actor = actor.Actor(
        collect_env, collect_policy, train_step, steps_per_run=1,
        metrics=actor.collect_metrics(10),
        summary_dir=os.path.join(workdir, learner.TRAIN_DIR),
        observers=[rb_observer, env_step_metric])
    # The tutorial's PolicySavedModelTrigger (every 5000 steps) is left out: its PolicySaver
    # fails to build in this venv (TypeError: this __dict__ descriptor does not support
    # '_DictWrapper' objects), and it would not fire within the timed window anyway.
    learning_triggers = [triggers.StepPerSecondLogTrigger(train_step, interval=1000)]
    agent_learner = learner.Learner(workdir, train_step, tf_agent, experience_dataset_fn,
                                    triggers=learning_triggers, strategy=strategy)
    tf_agent.train_step_counter.assign(0)

    collect_actor.run()
    started = time.perf_counter()
    agent_learner.run(iterations=1)
    first_learner_seconds = time.perf_counter() - started
    for _ in range(warmup - 1):
      collect_actor.run()
      agent_learner.run(iterations=1)

    collect_seconds = train_seconds = 0.0
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(iterations):
      t0 = time.perf_counter()
      collect_actor.run()
      t1 = time.perf_counter()
      agent_learner.run(iterations=1)
      collect_seconds += t1 - t0
      train_seconds += time.perf_counter() - t1
    loop_seconds = time.perf_counter() - wall_started
    loop_cpu = time.process_time() - cpu_started
    # The learning result at the end of the timed run: the greedy policy's mean return.
    eval_env = suite_pybullet.load("MinitaurBulletEnv-v0")
    eval_env.seed(1000 + seed)
    eval_policy = py_tf_eager_policy.PyTFEagerPolicy(tf_agent.policy, use_tf_function=True)
    returns = []
    for _ in range(eval_episodes):
      time_step, total = eval_env.reset(), 0.0
      while not time_step.is_last():
        time_step = eval_env.step(eval_policy.action(time_step).action)
        total += float(time_step.reward)
      returns.append(total)
    rb_observer.close()
    reverb_server.stop()
    print(json.dumps({
        "import_seconds": import_seconds, "build_seconds": build_seconds,
        "initial_collect_seconds": initial_collect_seconds,
        "first_learner_seconds": first_learner_seconds,
        "it_per_s": iterations / loop_seconds, "cores_busy": loop_cpu / loop_seconds,
        "cpu_us": 1e6 * loop_cpu / iterations,
        "collect_us": 1e6 * collect_seconds / iterations,
        "learner_us": 1e6 * train_seconds / iterations,
        "train_steps": int(train_step.numpy()), "tf_version": tf.__version__,
        "final_return": float(np.mean(returns)), "loadavg": os.getloadavg()[0]}), flush=True)
""")


# ---- the rlrun side (runs in a subprocess of this script: --worker) -------------------


def rlrun_worker(args: argparse.Namespace) -> None:
  """One rlrun run; prints a JSON line of results."""
  started = time.perf_counter()
  import tensorflow as tf
  from rlrun import configs
  from rlrun.train.experiment import Experiment
  import_seconds = time.perf_counter() - started
  total = args.warmup + args.iterations
  configs.parse(configs.resolve("sac_minitaur.gin"), [
      f"train.Experiment.num_iterations={total}",
      f"train.Experiment.initial_collect_steps={args.initial_collect_steps}",
      f"train.Experiment.seed={args.seed}",
      f"train.Experiment.num_eval_episodes={args.eval_episodes}",
      # Evaluation stripped from the loop (the eval trigger never fires).
      "train.Experiment.eval_interval=1000000000"] + args.binding)
  with tempfile.TemporaryDirectory() as root:
    experiment = Experiment(root_dir=root)
    started = time.perf_counter()
    experiment.build()
    experiment.progress = None
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    experiment.initial_collect()
    initial_collect_seconds = time.perf_counter() - started
    group = experiment.settings.iterations_per_call
    assert GROUP % group == 0, group

    # In-loop timers: learner.train on the main thread, actor.run in the collect thread.
    in_loop = {"learner": 0.0, "actor": 0.0}
    def timed(fn, key):
      def wrapper(*a, **k):
        t = time.perf_counter()
        try:
          return fn(*a, **k)
        finally:
          in_loop[key] += time.perf_counter() - t
      return wrapper
    experiment.learner.train = timed(experiment.learner.train, "learner")
    experiment.collector.run = timed(experiment.collector.run, "actor")

    def advance(step: int) -> int:
      experiment.trainer.run_group(group)
      return int(experiment.train_step.numpy())

    started = time.perf_counter()
    step = advance(0)
    first_learner_seconds = time.perf_counter() - started
    while step < args.warmup:
      step = advance(step)
    for key in in_loop:
      in_loop[key] = 0.0
    first = step
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    while step < total:
      step = advance(step)
    loop_seconds = time.perf_counter() - wall_started
    loop_cpu = time.process_time() - cpu_started
    iterations = step - first
    loop_times = dict(in_loop)  # the split below calls learner.train again
    # The learning result at the end of the timed run (the run's own evaluator).
    final_return = experiment.evaluator.run(step)["AverageReturn"]

    split = measure_split(experiment, args.split_steps, args.split_batches,
                          args.split_train_steps)
    experiment.close()
  print(json.dumps({
      "import_seconds": import_seconds, "build_seconds": build_seconds,
      "initial_collect_seconds": initial_collect_seconds,
      "first_learner_seconds": first_learner_seconds,
      "it_per_s": iterations / loop_seconds, "cores_busy": loop_cpu / loop_seconds,
      "wall_us": 1e6 * loop_seconds / iterations, "cpu_us": 1e6 * loop_cpu / iterations,
      "learner_us": 1e6 * loop_times["learner"] / iterations,
      "actor_us": 1e6 * loop_times["actor"] / iterations,
      "train_steps": step, "split": split, "tf_version": tf.__version__,
      "final_return": final_return,
      "loadavg": os.getloadavg()[0]}), flush=True)


# ---- the driver ------------------------------------------------------------------------


def _last_json(stdout: str) -> dict:
  return json.loads([l for l in stdout.splitlines() if l.startswith("{")][-1])


def run_rlrun(args: argparse.Namespace, seed: int, side: str) -> dict:
  command = [sys.executable, str(Path(__file__).resolve()), "--worker",
             "--seed", str(seed), "--initial-collect-steps", str(args.initial_collect_steps),
             "--warmup", str(args.warmup), "--iterations", str(args.iterations),
             "--split-steps", str(args.split_steps), "--split-batches", str(args.split_batches),
             "--split-train-steps", str(args.split_train_steps),
             "--eval-episodes", str(args.eval_episodes)]
  for binding in SIDE_BINDINGS[side]:
    command += ["--binding", binding]
  # The environment the `rlrun` command gives itself (rlrun/cli.py).
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", OPENBLAS_NUM_THREADS="1")
  done = subprocess.run(command, capture_output=True, text=True, env=env)
  if done.returncode:
    sys.exit(f"rlrun run failed:\n{done.stderr[-4000:]}")
  return _last_json(done.stdout)


def run_reference(args: argparse.Namespace, seed: int, workdir: Path) -> dict:
  script = workdir / "tf_agents_sac_minitaur_loop.py"
  script.write_text(REFERENCE)
  rundir = workdir / f"tf-agents-seed{seed}"
  rundir.mkdir()
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  done = subprocess.run(
      [args.tf_agents_python, str(script), str(seed), str(args.initial_collect_steps),
       str(args.warmup), str(args.iterations), str(rundir), str(args.eval_episodes)],
      capture_output=True, text=True, cwd=workdir, env=env)
  if done.returncode:
    sys.exit(f"TF-Agents run failed:\n{done.stderr[-4000:]}")
  return _last_json(done.stdout)


def _median(rows: List[dict], key: str) -> float:
  values = [r[key] for r in rows if key in r]
  return statistics.median(values) if values else float("nan")


def _split_medians(rows: List[dict]) -> Dict[str, Dict[str, float]]:
  names = list(rows[0]["split"])
  return {name: {k: statistics.median(r["split"][name][k] for r in rows)
                 for k in rows[0]["split"][name]} for name in names}


def bottleneck_paragraph(rl: Dict[str, float], split: Dict[str, Dict[str, float]]) -> str:
  """What limits rlrun's loop, read off the numbers."""
  env, policy, insert, sample, train = (split[k] for k in (ENV, POLICY, INSERT, SAMPLE, TRAIN))
  collect_wall = env["wall_us"] + policy["wall_us"] + insert["wall_us"]
  learn_wall = train["wall_us"] + sample["wall_us"]
  cpu = {"env step": env["cpu_us"], "policy inference": policy["cpu_us"],
         "replay insert": insert["cpu_us"], "replay sample": sample["cpu_us"],
         "train step": train["cpu_us"]}
  total_cpu = sum(cpu.values())
  ranked = sorted(cpu.items(), key=lambda kv: -kv[1])
  shares = ", ".join(f"{name} {100 * value / total_cpu:.0f}%" for name, value in ranked)
  cores = os.cpu_count() or 1
  saturated = rl["cores_busy"] >= 0.85 * cores
  longer = "learner" if learn_wall >= collect_wall else "collect"
  text = (
      f"Alone, the collect thread's work is {collect_wall:.0f} us per iteration (env step "
      f"{env['wall_us']:.0f} + numpy policy {policy['wall_us']:.0f} + replay insert "
      f"{insert['wall_us']:.0f}) and the learner's {learn_wall:.0f} us (train step "
      f"{train['wall_us']:.0f} + a batch sampled back to back {sample['wall_us']:.0f}, "
      f"which overlaps the train step through prefetching); the loop achieves "
      f"{rl['wall_us']:.0f} us per iteration with the two overlapped, the {longer} thread "
      f"being the longer one (in the loop: learner.train {rl['learner_us']:.0f} us, "
      f"actor.run {rl['actor_us']:.0f} us per iteration). The process keeps "
      f"{rl['cores_busy']:.2f} of the {cores} cores busy"
      f"{' (saturated)' if saturated else ''}, so what counts is CPU time per iteration: "
      f"{total_cpu:.0f} us summed over the pieces measured alone ({shares}). ")
  excess = rl["cpu_us"] - total_cpu
  if excess > 0.1 * total_cpu:
    text += (f"In the loop the process spends {rl['cpu_us']:.0f} us of CPU per iteration, "
             f"{excess:.0f} us more than those pieces alone: sharing the cores, each piece "
             f"runs slower (actor.run {rl['actor_us']:.0f} us per iteration in the loop against "
             f"{collect_wall:.0f} alone; learner.train {rl['learner_us']:.0f} against "
             f"{learn_wall:.0f}), as the train step alone already keeps "
             f"{train['cpu_us'] / train['wall_us']:.1f} cores busy. ")
  top, second = ranked[0], ranked[1]
  if saturated:
    text += (f"The next bottleneck is the {top[0]} ({top[1]:.0f} us of CPU per iteration), "
             f"then the {second[0]} ({second[1]:.0f} us): with both cores busy, only less "
             "CPU work per iteration makes the loop faster; overlapping more cannot.")
  else:
    text += (f"The cores are not saturated, so the {longer} thread's critical path limits the "
             f"loop; within it the largest piece is the "
             f"{'train step' if longer == 'learner' else 'env step'}.")
  return text


def write_report(path: Path, args: argparse.Namespace, command: str,
                 results: Dict[str, List[dict]]) -> None:
  rl, ref = results[SHIPPED], results.get("TF-Agents 0.19", [])
  rlrun_sides = [(name, results[name]) for name in SIDE_BINDINGS if name in results]
  tf_version = rl[0]["tf_version"]
  lines = [
      "## SAC Minitaur (issue 4; `scripts/bench_sac_minitaur.py`)", "",
      f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, TensorFlow "
      f"{tf_version} (CPU), {time.strftime('%Y-%m-%d')}; load average before the runs "
      f"{results['loadavg_before']:.2f} (the machine is shared). Command:", "",
      f"    {command}", "",
      f"Each side: {args.runs} runs (fresh processes, alternating sides, seeds 0..{args.runs - 1}); "
      f"medians. Tutorial hyperparameters; random initial collect of "
      f"{args.initial_collect_steps} steps; loop rate over {args.iterations} iterations "
      f"(1 collect step + 1 train step of batch 256) after {args.warmup} warm-up iterations "
      "(which include the first learner call's tracing); evaluation stripped from both loops. "
      "TF-Agents: the tutorial's `collect_actor.run()` (1 step) + "
      "`agent_learner.run(iterations=1)`. rlrun: `sac_minitaur.gin`'s Experiment (groups of "
      "8 iterations, the next group collected in a thread while the learner trains, no XLA)"
      + (f"; {GROUPED}: the same with `{'`, `'.join(SIDE_BINDINGS[GROUPED])}`"
         if GROUPED in results else "") +
      ". Cores busy = process CPU time / wall time over the loop. Final eval return: after "
      f"the timed loop, the greedy policy's mean return over {args.eval_episodes} episodes "
      "(the learning result at the end of the timed run; rlrun: the run's own evaluation "
      "environments, TF-Agents: one environment seeded 1000 + seed).", "",
      "| run | initial collect (s) | first learner call (s) | loop it/s | cores busy | "
      "CPU ms / iteration | final eval return |",
      "|---|---|---|---|---|---|---|"]
  for name, rows in [("TF-Agents 0.19", ref)] + rlrun_sides:
    for i, r in enumerate(rows):
      lines.append(f"| {name} run {i} | {r['initial_collect_seconds']:.1f} | "
                   f"{r['first_learner_seconds']:.1f} | {r['it_per_s']:.1f} | "
                   f"{r['cores_busy']:.2f} | {r['cpu_us'] / 1000:.1f} | "
                   f"{r['final_return']:.2f} |")
    if rows:
      lines.append(f"| **{name} median** | **{_median(rows, 'initial_collect_seconds'):.1f}** | "
                   f"**{_median(rows, 'first_learner_seconds'):.1f}** | "
                   f"**{_median(rows, 'it_per_s'):.1f}** | "
                   f"**{_median(rows, 'cores_busy'):.2f}** | "
                   f"**{_median(rows, 'cpu_us') / 1000:.1f}** | "
                   f"**{_median(rows, 'final_return'):.2f}** |")
  rl_rate = _median(rl, "it_per_s")
  lines.append("")
  if ref:
    ref_rate = _median(ref, "it_per_s")
    collect_ratio = _median(ref, "initial_collect_seconds") / _median(
        rl, "initial_collect_seconds")
    for name, rows in rlrun_sides:
      ratio = _median(rows, "it_per_s") / ref_rate
      verdicts = ", ".join(f"{where}'s {target}x {'met' if ratio >= target else 'NOT met'}"
                           for target, where in TARGETS)
      lines.append(f"- Loop iteration rate, {name} / TF-Agents: **{ratio:.2f}x** ({verdicts}); "
                   f"{_median(rows, 'it_per_s'):.1f} vs {ref_rate:.1f} it/s.")
    lines += [
        f"- Random initial collect: rlrun {collect_ratio:.2f}x as fast "
        f"({_median(rl, 'initial_collect_seconds'):.1f} s vs "
        f"{_median(ref, 'initial_collect_seconds'):.1f} s).",
        f"- TF-Agents' loop, per iteration: collect actor.run {_median(ref, 'collect_us'):.0f} "
        f"us + learner.run {_median(ref, 'learner_us'):.0f} us, one after the other. The issue "
        f"quoted {ISSUE_RATE:.0f} it/s and {ISSUE_INITIAL_COLLECT:.0f} s for an initial "
        f"collect of 10000 steps on this machine; this invocation measured {ref_rate:.1f} it/s "
        f"and {_median(ref, 'initial_collect_seconds'):.1f} s for "
        f"{args.initial_collect_steps} steps."]
  else:
    lines.append(f"- rlrun loop: {rl_rate:.1f} it/s (no TF-Agents reference in this "
                 f"invocation; issue 4 quoted {ISSUE_RATE:.0f} it/s, so the targets are "
                 + " and ".join(f"{t * ISSUE_RATE:.0f} it/s" for t, _ in TARGETS) + ").")
  split = _split_medians(rl)
  lines += ["", "### rlrun: where an iteration's time goes", "",
            "Each piece measured alone after the loop, in every run of the shipped rlrun side "
            "(medians), on the "
            f"run's own objects: {args.split_steps} env steps, as many policy calls (half for the "
            f"TF policy) and observer inserts, {args.split_batches} batches, "
            f"{args.split_train_steps} train steps. CPU = process CPU time (all threads) per "
            "operation, so a piece that runs on two threads shows CPU > wall.", "",
            "| piece (per iteration) | wall (us) | CPU (us) |", "|---|---|---|"]
  for name, values in split.items():
    extra = (f" ({values['episodes']:.0f} episodes ended in {args.split_steps} steps)"
             if "episodes" in values else "")
    lines.append(f"| {name}{extra} | {values['wall_us']:.0f} | {values['cpu_us']:.0f} |")
  rl_summary = {k: _median(rl, k) for k in ("wall_us", "cpu_us", "cores_busy", "learner_us",
                                            "actor_us")}
  lines += [f"| achieved in the loop, with overlap | {rl_summary['wall_us']:.0f} | "
            f"{rl_summary['cpu_us']:.0f} |",
            f"| in the loop: learner.train (main thread) | {rl_summary['learner_us']:.0f} | |",
            f"| in the loop: actor.run (collect thread, concurrent) | "
            f"{rl_summary['actor_us']:.0f} | |", "",
            bottleneck_paragraph(rl_summary, split)]
  replace_section(path, "sac-minitaur", lines)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--tf-agents-python", help="python of a venv with tf-agents 0.19")
  parser.add_argument("--runs", type=int, default=3, help="runs per side")
  parser.add_argument("--initial-collect-steps", type=int, default=10000)
  parser.add_argument("--warmup", type=int, default=200,
                      help="iterations before the timed loop (first learner call included)")
  parser.add_argument("--iterations", type=int, default=3000, help="timed loop iterations")
  parser.add_argument("--eval-episodes", type=int, default=5,
                      help="greedy episodes evaluated after the timed loop, each side")
  parser.add_argument("--split-steps", type=int, default=2000,
                      help="env steps, policy calls and inserts timed for the split")
  parser.add_argument("--split-batches", type=int, default=300)
  parser.add_argument("--split-train-steps", type=int, default=800)
  parser.add_argument("--split-scale", type=float, default=1.0,
                      help="multiplies the three --split-* counts (quick runs)")
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
  parser.add_argument("--grouped-local", action="store_true",
                      help=f"also run the side '{GROUPED}'")
  parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
  parser.add_argument("--binding", action="append", default=[], help=argparse.SUPPRESS)
  args = parser.parse_args()
  # Keep every group whole, so no other group size is traced.
  group = GROUP
  args.warmup = max(group, -(-args.warmup // group) * group)
  args.iterations = max(group, -(-args.iterations // group) * group)
  if args.worker:
    rlrun_worker(args)
    return
  args.split_steps = max(10, int(args.split_steps * args.split_scale))
  args.split_batches = max(10, int(args.split_batches * args.split_scale))
  args.split_train_steps = max(group, int(args.split_train_steps * args.split_scale))
  command = "python scripts/bench_sac_minitaur.py " + " ".join(
      shlex.quote(a) for a in sys.argv[1:])
  results: Dict[str, list] = {"loadavg_before": os.getloadavg()[0]}
  with tempfile.TemporaryDirectory() as tmp:
    for run in range(args.runs):
      sides = [(name, lambda s, name=name: run_rlrun(args, s, name))
               for name in SIDE_BINDINGS if name == SHIPPED or args.grouped_local]
      if args.tf_agents_python:
        sides.insert(0, ("TF-Agents 0.19", lambda s: run_reference(args, s, Path(tmp))))
      if run % 2:
        sides.reverse()
      for name, fn in sides:
        started = time.perf_counter()
        row = fn(run)
        row["process_seconds"] = time.perf_counter() - started
        shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()
                 if k != "split"}
        print(f"{name} run {run}: {json.dumps(shown)}", flush=True)
        if "split" in row:
          for piece, values in row["split"].items():
            print(f"    {piece}: " + ", ".join(f"{k} {v:.0f}" for k, v in values.items()),
                  flush=True)
        results.setdefault(name, []).append(row)
  write_report(args.output, args, command, results)
  print(f"wrote {args.output}")


if __name__ == "__main__":
  main()
