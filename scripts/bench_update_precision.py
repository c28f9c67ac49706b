"""Benchmark: one TD3-shaped update (twin critics + actor, Adam) in float32 against bfloat16.

Issue 9 leaves TD3 at ~2.1x TF-Agents, its update being compute-bound on this CPU (~6.8 ms
per step of batch 256 with (400, 300) networks). This machine's CPU has AVX512_BF16, which
oneDNN uses for bfloat16 matmuls. This script measures, per layer width, the time of one
update step on a fixed batch (no replay, no environment) under Keras' 'float32' and
'mixed_bfloat16' policies (variables stay float32, matmuls run in bfloat16), with and
without XLA, each in a fresh process, `--runs` times alternating, and writes the medians and
the ratios to float32 in BENCHMARKS.md (section "update-precision").

It measures speed only: whether bfloat16 critics still learn TD3 Pendulum is not measured
here (a learning run with the shipped config would be, before any config uses it).

Usage:
  python scripts/bench_update_precision.py --runs 3
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
VARIANTS = [("float32", False), ("mixed_bfloat16", False), ("float32", True),
            ("mixed_bfloat16", True)]


def worker(policy: str, xla: bool, width: str, steps: int) -> float:
  """ms per update step (median of 5 blocks of `steps`)."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import tensorflow as tf
  tf.keras.mixed_precision.set_global_policy(policy)
  sizes = WIDTHS[width]

  def mlp(outputs, activation=None):
    layers = [tf.keras.layers.Dense(n, "relu") for n in sizes]
    # The last layer computes in float32, as mixed-precision models' outputs should.
    return tf.keras.Sequential(layers + [tf.keras.layers.Dense(outputs, activation,
                                                               dtype="float32")])

  critics, actor = [mlp(1), mlp(1)], mlp(1, "tanh")
  critic_opt, actor_opt = tf.keras.optimizers.Adam(1e-3), tf.keras.optimizers.Adam(1e-3)
  observations = tf.random.normal([256, 3])
  actions = tf.random.uniform([256, 1], -1.0, 1.0)
  targets = tf.random.normal([256, 1])

  @tf.function(jit_compile=xla)
  def update():
    joint = tf.concat([observations, actions], -1)
    with tf.GradientTape() as tape:
      loss = tf.add_n([tf.reduce_mean((q(joint) - targets) ** 2) for q in critics])
    variables = critics[0].trainable_variables + critics[1].trainable_variables
    critic_opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
    with tf.GradientTape() as tape:
      actor_loss = -tf.reduce_mean(critics[0](tf.concat([observations, actor(observations)],
                                                        -1)))
    actor_opt.apply_gradients(zip(tape.gradient(actor_loss, actor.trainable_variables),
                                  actor.trainable_variables))
    return loss

  return ms_per_update(update, steps)


def main() -> None:
  worker_args = ("POLICY", "XLA", "WIDTH")
  args = update_timing.parser(__doc__.splitlines()[0], worker_args).parse_args()
  if args.worker:
    policy, xla, width = args.worker
    print(json.dumps(worker(policy, xla == "1", width, args.steps)))
    return
  times = {}
  for run in range(args.runs):
    for width in WIDTHS:
      for policy, xla in VARIANTS:
        key = (width, policy, xla)
        times.setdefault(key, []).append(
            run_worker(__file__, args.steps, [policy, "1" if xla else "0", width]))
        print(f"run {run}: {width} {policy} xla={xla}: {times[key][-1]:.2f} ms", flush=True)
  lines = ["## One TD3-shaped update, float32 against bfloat16 (`scripts/bench_update_precision.py`)",
           "",
           f"Machine: {os.cpu_count()} cores (AVX512_BF16), Python {platform.python_version()}, "
           f"{time.strftime('%Y-%m-%d')}. One update = twin critics' loss and Adam step + the "
           "actor's (actor every step here), batch 256, on a fixed batch; ms per update, median "
           f"of 5 blocks of {args.steps} per process, {args.runs} processes per row "
           "(alternating); speed only, learning not measured.", "",
           "| width | policy | XLA | ms per update (each run) | median | vs float32, same XLA |",
           "|---|---|---|---|---|---|"]
  for (width, policy, xla), values in times.items():
    median = statistics.median(values)
    base = statistics.median(times[(width, "float32", xla)])
    lines.append(f"| {width} | {policy} | {'yes' if xla else 'no'} | "
                 f"{', '.join(f'{v:.2f}' for v in values)} | **{median:.2f}** | "
                 f"{base / median:.2f}x |")
  replace_section(args.output, "update-precision", lines)
  print(f"wrote {args.output}")


if __name__ == "__main__":
  main()
