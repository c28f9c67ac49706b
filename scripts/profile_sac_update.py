"""Profile: one SAC update's CPU time, and the floor its matrix multiplies set on it.

rlrun's SacAgent is built at a task's sizes ((256, 256) critics and actor, batch 256, Adam)
and its train step runs on a fixed batch, with one intra-op thread (what sac_minitaur.gin
and `rlrun train --fast` use on 2 cores). Each run, in a fresh process, reports:

- wall and process-CPU milliseconds per update (median of 5 blocks);
- the update's kernel time, from a TensorFlow profile of 101 updates: the summed durations of
  the kernels TensorFlow's threads ran, matrix multiplies (MatMul, BatchMatMul, oneDNN's
  fused MatMul + bias + activation) apart from everything else; what is neither is the
  executor's and Python's own work;
- the multiply-adds of the matmuls the update runs (counted on the traced graph, keeping only
  the matmuls its outputs and control outputs depend on, as TensorFlow's pruning does; the
  graph count and the profile's kernel count are printed side by side as a check);
- "matmuls alone": the same matmuls (same shapes and transposes, on fixed inputs) run back
  to back in one compiled function, and their CPU per update.

The update's matmuls as profiled in place are the part no rewrite of the rest can remove.
With --reference-cpu-ms R and --env-step-ms E (a peer's process-CPU ms per iteration and the
environment's, e.g. TF-Agents' and the env step's from bench_sac_minitaur.py's table), it
also prints an upper bound on the loop-rate ratio against that peer, both keeping the same
number of cores busy: R / (the update's matmul kernel time + E), leaving out everything else
an iteration does (the policy, the replay insert and sample). Writes BENCHMARKS.md section
"sac-update-floor".

Usage:
  python scripts/profile_sac_update.py --runs 3
  python scripts/profile_sac_update.py --runs 3 --reference-cpu-ms 38.5 --env-step-ms 2.71
"""

import glob
import json
import os
import platform
import statistics
import tempfile
import time

from benchmarks_md import replace_section
import update_timing
from update_timing import run_worker

TASKS = {"minitaur": (28, 8), "pendulum": (3, 1)}  # observation and action sizes
WIDTH, BATCH = (256, 256), 256
MATMUL_OPS = ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")
MATMUL_KERNELS = MATMUL_OPS + ("_MklMatMul", "_MklNativeFusedMatMul", "_FusedMatMul",
                               "_MklBatchMatMul", "_MklBatchMatMulV2", "_MklFusedBatchMatMulV2")
# Ops whose bodies are other functions: matmuls inside them would not be counted.
CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall", "While", "StatelessWhile", "If",
            "StatelessIf", "Case", "StatelessCase")


def _cpu_ms(call, steps: int) -> tuple:
  """(wall, process CPU) ms per call: the median of 5 blocks of `steps` calls."""
  blocks = []
  for _ in range(5):
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
      out = call()
    tf_result = out[0] if isinstance(out, (list, tuple)) else out
    tf_result.numpy()
    blocks.append(((time.perf_counter() - wall) / steps * 1e3,
                   (time.process_time() - cpu) / steps * 1e3))
  return (statistics.median(b[0] for b in blocks), statistics.median(b[1] for b in blocks))


def _live_matmuls(graph) -> list:
  """The matmul ops that the function's outputs and control outputs (its variable updates)
  depend on: what TensorFlow's pruning keeps."""
  live, stack = set(), [t.op for t in graph.outputs] + list(graph.control_outputs)
  while stack:
    op = stack.pop()
    if op in live:
      continue
    live.add(op)
    stack += [t.op for t in op.inputs] + list(op.control_inputs)
  nested = sorted({op.type for op in live if op.type in CALL_OPS})
  if nested:
    raise RuntimeError(f"the update calls nested functions ({', '.join(nested)}); their "
                       "matmuls would not be counted")
  return [op for op in live if op.type in MATMUL_OPS]


def _kernel_cpu_ms(trace_dir: str, updates: int) -> tuple:
  """(matmul, other) kernel ms per update and matmul kernels per update, from a profile."""
  from tensorflow.tsl.profiler.protobuf import xplane_pb2
  space = xplane_pb2.XSpace()
  with open(sorted(glob.glob(f"{trace_dir}/**/*.xplane.pb", recursive=True))[-1], "rb") as f:
    space.ParseFromString(f.read())
  matmul = other = count = 0
  for plane in space.planes:
    names = {key: meta.name for key, meta in plane.event_metadata.items()}
    for line in plane.lines:
      if not line.name.startswith("tf_Compute"):
        continue
      for event in line.events:
        name = names.get(event.metadata_id, "")
        if name.count(":") != 1:  # a kernel is "op_name:OpType"; the executor's spans are
          continue                # named otherwise ("ExecutorState::Process", ...)
        kernel = name.split(":")[1]
        if kernel in MATMUL_KERNELS:
          matmul, count = matmul + event.duration_ps, count + 1
        else:
          other += event.duration_ps
  return matmul / 1e9 / updates, other / 1e9 / updates, count / updates


def worker(task: str, steps: int) -> dict:
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import numpy as np
  import tensorflow as tf
  tf.config.threading.set_intra_op_parallelism_threads(1)
  from rlrun.agents.sac_agent import SacAgent
  from rlrun.networks.actor_distribution_network import ActorDistributionNetwork
  from rlrun.networks.critic_network import CriticNetwork
  from rlrun.specs import tensor_spec
  from rlrun.trajectories import Trajectory, time_step as ts

  observation_size, action_size = TASKS[task]
  observation_spec = tf.TensorSpec([observation_size], tf.float32)
  action_spec = tensor_spec.BoundedTensorSpec([action_size], tf.float32, -1.0, 1.0)
  adam = lambda: tf.keras.optimizers.Adam(3e-4)
  agent = SacAgent(ts.time_step_spec(observation_spec), action_spec,
                   CriticNetwork((observation_spec, action_spec), joint_fc_layer_params=WIDTH),
                   ActorDistributionNetwork(observation_spec, action_spec, fc_layer_params=WIDTH),
                   adam(), adam(), adam())
  agent.initialize()
  rng = np.random.default_rng(0)
  constant = lambda shape, draw=rng.normal: tf.constant(draw(size=shape), tf.float32)
  experience = Trajectory(
      step_type=tf.ones([BATCH, 2], tf.int32), next_step_type=tf.ones([BATCH, 2], tf.int32),
      observation=constant([BATCH, 2, observation_size]), policy_info=(),
      action=constant([BATCH, 2, action_size], lambda size: rng.uniform(-1, 1, size)),
      reward=constant([BATCH, 2]), discount=tf.ones([BATCH, 2], tf.float32))
  update = tf.function(lambda: agent.train(experience).loss)
  for _ in range(30):
    update()
  wall_ms, cpu_ms = _cpu_ms(update, steps)

  with tempfile.TemporaryDirectory() as trace_dir:
    tf.profiler.experimental.start(trace_dir)
    for _ in range(100):
      update()
    update().numpy()
    tf.profiler.experimental.stop()
    matmul_ms, other_ms, kernels = _kernel_cpu_ms(trace_dir, 101)

  matmuls, multiply_adds = [], 0
  for op in _live_matmuls(update.get_concrete_function().graph):
    if op.type != "MatMul":
      raise RuntimeError(f"{op.type} in the update: only MatMul's multiply-adds are counted")
    a, b = (t.shape.as_list() for t in op.inputs)
    flags = op.get_attr("transpose_a"), op.get_attr("transpose_b")
    m, k = a[::-1] if flags[0] else a
    n = b[0] if flags[1] else b[1]
    matmuls.append((tf.Variable(rng.normal(size=a), dtype=tf.float32),
                    tf.Variable(rng.normal(size=b), dtype=tf.float32)) + flags)
    multiply_adds += m * k * n
  matmuls_alone = tf.function(lambda: [
      tf.matmul(a, b, transpose_a=ta, transpose_b=tb) for a, b, ta, tb in matmuls])
  for _ in range(30):
    matmuls_alone()
  alone_wall_ms, alone_cpu_ms = _cpu_ms(matmuls_alone, steps)
  return {"wall_ms": wall_ms, "cpu_ms": cpu_ms, "matmul_kernel_ms": matmul_ms,
          "other_kernel_ms": other_ms, "kernels": kernels, "matmuls": len(matmuls),
          "mega_multiply_adds": multiply_adds / 1e6, "alone_wall_ms": alone_wall_ms,
          "alone_cpu_ms": alone_cpu_ms}


def main() -> None:
  parser = update_timing.parser(__doc__.splitlines()[0], ["TASK"])
  parser.add_argument("--reference-cpu-ms", type=float,
                      help="a peer's process-CPU ms per iteration (bench_sac_minitaur.py)")
  parser.add_argument("--env-step-ms", type=float,
                      help="the environment step's CPU ms per iteration")
  parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS), default=sorted(TASKS))
  args = parser.parse_args()
  if args.worker:
    print(json.dumps(worker(args.worker[0], args.steps)))
    return
  if (args.reference_cpu_ms is None) != (args.env_step_ms is None):
    parser.error("--reference-cpu-ms and --env-step-ms go together")
  results = {task: [] for task in args.tasks}
  for _ in range(args.runs):
    for task in args.tasks:
      results[task].append(run_worker(__file__, args.steps, [task]))
      print(task, json.dumps(results[task][-1]), flush=True)
  median = lambda task, key: statistics.median(r[key] for r in results[task])
  lines = ["## One SAC update's CPU, and its matmuls' floor (`scripts/profile_sac_update.py`)",
           "",
           f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
           f"{time.strftime('%Y-%m-%d')}. rlrun's SacAgent, (256, 256) networks, batch "
           f"{BATCH}, on a fixed batch, one intra-op thread; ms per update, medians of "
           f"{args.runs} processes (each the median of 5 blocks of {args.steps}). Kernel time: "
           "the summed durations of the kernels in a TensorFlow profile of 101 updates; the "
           "update's CPU minus its kernel time is the executor's and Python's own work. "
           "Matmuls alone: the update's own matmuls (shapes, transposes) in one compiled "
           "function.", "",
           "| task sizes | update wall | update CPU | matmul kernel time | other kernel time | "
           "neither (update CPU - kernel time) | matmul share of update CPU | matmuls per "
           "update (graph / profile) | multiply-adds (M) | matmuls alone: wall | matmuls "
           "alone: CPU |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
  for task in args.tasks:
    cpu, matmul, other = (median(task, key) for key in ("cpu_ms", "matmul_kernel_ms",
                                                        "other_kernel_ms"))
    lines.append(
        f"| {task} {TASKS[task]} | {median(task, 'wall_ms'):.2f} | {cpu:.2f} | {matmul:.2f} | "
        f"{other:.2f} | {cpu - matmul - other:.2f} | {matmul / cpu:.0%} | "
        f"{median(task, 'matmuls'):.0f} / {median(task, 'kernels'):.1f} | "
        f"{median(task, 'mega_multiply_adds'):.0f} | {median(task, 'alone_wall_ms'):.2f} | "
        f"{median(task, 'alone_cpu_ms'):.2f} |")
  if args.reference_cpu_ms is not None and "minitaur" in results:
    reference, env_step = args.reference_cpu_ms, args.env_step_ms
    matmul, update = median("minitaur", "matmul_kernel_ms"), median("minitaur", "cpu_ms")
    lines += ["", f"Against a peer spending {reference:g} ms of CPU per iteration, at equal "
              f"cores busy, a Minitaur loop with this update reaches at most {reference:g} / "
              f"(update {update:.2f} + env step {env_step:g}) = "
              f"**{reference / (update + env_step):.2f}x**, and at most "
              f"**{reference / (matmul + env_step):.2f}x** if everything in the update but "
              f"its matmul kernels ({matmul:.2f}) were free (both leave out the policy and the "
              "replay)."]
  replace_section(args.output, "sac-update-floor", lines)
  print("\n".join(lines))


if __name__ == "__main__":
  main()
