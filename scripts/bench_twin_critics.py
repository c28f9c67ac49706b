"""Benchmark: one SAC-shaped update with its twin critics as two networks against one stacked pair.

SAC and TD3 evaluate two critics (and two target critics) on the same inputs. rlrun builds
them as two Keras networks, so every layer is two small matmuls, two bias adds and two
activations, forward and backward. Stacked, the pair is one batched matmul per layer
(weights [2, in, out]) on the same number of multiply-adds, with half the ops. Whether
that pays on a CPU, where a train step of batch 256 is mostly matmuls of a few hundred
columns, is what this script measures: ms per update on a fixed batch (no replay, no
environment), each variant in a fresh process, `--runs` times alternating, for each layer
width and TensorFlow intra-op thread count (1: what sac_minitaur.gin and `--fast` use on 2
cores; 0: TensorFlow's default, one per core). Writes the medians to BENCHMARKS.md (section
"twin-critics").

The update: target = r + gamma * min of the two target critics at the actor's next action;
both critics' squared TD errors, Adam; the actor's loss -min of the two critics at its own
action, Adam; Polyak target update. It is SAC's data flow without the entropy terms (they
cost the same in both layouts). Speed only: nothing here changes rlrun's agents.

Usage:
  python scripts/bench_twin_critics.py --runs 3
"""

import json
import os
import platform
import statistics
import time

from benchmarks_md import replace_section
import update_timing
from update_timing import ms_per_update, run_worker

WIDTHS = {"(256, 256)": (256, 256), "(400, 300)": (400, 300)}
LAYOUTS = ("two networks", "stacked pair")
THREADS = (1, 0)
OBSERVATION, ACTION, BATCH = 28, 8, 256  # Minitaur's sizes, the tutorial's batch


def worker(layout: str, width: str, threads: int, steps: int) -> float:
  """ms per update (median of 5 blocks of `steps`)."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import tensorflow as tf
  tf.config.threading.set_intra_op_parallelism_threads(threads)
  sizes = (OBSERVATION + ACTION,) + WIDTHS[width] + (1,)
  glorot = tf.keras.initializers.GlorotUniform(seed=0)

  def stacked_variables(copies):
    """[copies, in, out] kernels and [copies, 1, out] biases, one pair per layer."""
    return [(tf.Variable(tf.stack([glorot((n_in, n_out)) for _ in range(copies)])),
             tf.Variable(tf.zeros([copies, 1, n_out])))
            for n_in, n_out in zip(sizes[:-1], sizes[1:])]

  def run_stacked(layers, joint):
    """[copies, B, 1] from one batched matmul per layer."""
    x = tf.broadcast_to(joint, [layers[0][0].shape[0]] + joint.shape.as_list())
    for i, (kernel, bias) in enumerate(layers):
      x = tf.matmul(x, kernel) + bias
      if i < len(layers) - 1:
        x = tf.nn.relu(x)
    return x

  def single_variables():
    """[in, out] kernels and [out] biases, one pair per layer: one plain network."""
    return [(tf.Variable(glorot((n_in, n_out))), tf.Variable(tf.zeros([n_out])))
            for n_in, n_out in zip(sizes[:-1], sizes[1:])]

  def run_single(layers, joint):
    x = joint
    for i, (kernel, bias) in enumerate(layers):
      x = tf.matmul(x, kernel) + bias
      if i < len(layers) - 1:
        x = tf.nn.relu(x)
    return x

  if layout == "stacked pair":
    critic, target = stacked_variables(2), stacked_variables(2)
    critic_variables = [v for layer in critic for v in layer]
    target_variables = [v for layer in target for v in layer]
    def q_pair(layers, joint):
      return run_stacked(layers, joint)
  else:
    critic = [single_variables() for _ in range(2)]
    target = [single_variables() for _ in range(2)]
    critic_variables = [v for net in critic for layer in net for v in layer]
    target_variables = [v for net in target for layer in net for v in layer]
    def q_pair(nets, joint):
      return tf.stack([run_single(net, joint) for net in nets])

  actor = tf.keras.Sequential([tf.keras.layers.Dense(n, "relu") for n in WIDTHS[width]] +
                              [tf.keras.layers.Dense(ACTION, "tanh")])
  actor.build([None, OBSERVATION])
  critic_opt, actor_opt = tf.keras.optimizers.Adam(3e-4), tf.keras.optimizers.Adam(3e-4)
  observations = tf.random.normal([BATCH, OBSERVATION], seed=1)
  next_observations = tf.random.normal([BATCH, OBSERVATION], seed=2)
  actions = tf.random.uniform([BATCH, ACTION], -1.0, 1.0, seed=3)
  rewards = tf.random.normal([BATCH, 1], seed=4)

  @tf.function
  def update():
    next_joint = tf.concat([next_observations, actor(next_observations)], -1)
    td_target = rewards + 0.99 * tf.reduce_min(q_pair(target, next_joint), axis=0)
    joint = tf.concat([observations, actions], -1)
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(tf.reduce_mean((q_pair(critic, joint) - td_target) ** 2, [1, 2]))
    critic_opt.apply_gradients(zip(tape.gradient(loss, critic_variables), critic_variables))
    with tf.GradientTape() as tape:
      own = tf.concat([observations, actor(observations)], -1)
      actor_loss = -tf.reduce_mean(tf.reduce_min(q_pair(critic, own), axis=0))
    actor_opt.apply_gradients(zip(tape.gradient(actor_loss, actor.trainable_variables),
                                  actor.trainable_variables))
    for source, destination in zip(critic_variables, target_variables):
      destination.assign(0.995 * destination + 0.005 * source)
    return loss

  return ms_per_update(update, steps)


def main() -> None:
  worker_args = ("LAYOUT", "WIDTH", "THREADS")
  args = update_timing.parser(__doc__.splitlines()[0], worker_args).parse_args()
  if args.worker:
    layout, width, threads = args.worker
    print(json.dumps(worker(layout, width, int(threads), args.steps)))
    return
  times = {}
  for run in range(args.runs):
    variants = [(w, t, l) for w in WIDTHS for t in THREADS for l in LAYOUTS]
    for width, threads, layout in (variants if run % 2 == 0 else variants[::-1]):
      key = (width, threads, layout)
      times.setdefault(key, []).append(
          run_worker(__file__, args.steps, [layout, width, str(threads)]))
      print(f"run {run}: {width} threads={threads} {layout}: {times[key][-1]:.2f} ms", flush=True)
  lines = ["## Twin critics: two networks against one stacked pair (`scripts/bench_twin_critics.py`)",
           "",
           f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
           f"{time.strftime('%Y-%m-%d')}. One SAC-shaped update (target from the two target "
           "critics, both critics' TD loss and Adam step, the actor's loss on the smaller "
           f"critic and its Adam step, Polyak targets), Minitaur's sizes ({OBSERVATION} "
           f"observations, {ACTION} actions), batch {BATCH}, on a fixed batch, no XLA; ms per "
           f"update, median of 5 blocks of {args.steps} per process, {args.runs} processes per "
           "row (alternating). Intra-op threads 0 = TensorFlow's default (one per core).", "",
           "| width | intra-op threads | critics | ms per update (each run) | median | "
           "two networks / this |", "|---|---|---|---|---|---|"]
  for (width, threads, layout), values in times.items():
    median = statistics.median(values)
    base = statistics.median(times[(width, threads, LAYOUTS[0])])
    lines.append(f"| {width} | {threads} | {layout} | "
                 f"{', '.join(f'{v:.2f}' for v in values)} | **{median:.2f}** | "
                 f"{base / median:.2f}x |")
  replace_section(args.output, "twin-critics", lines)
  print(f"wrote {args.output}")


if __name__ == "__main__":
  main()
