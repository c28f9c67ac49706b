"""Benchmark: the saved greedy policy's inference latency through every way to run it.

For DQN CartPole and SAC Minitaur, trains a short run (the weights' values do not change the
cost), exports it with `rlrun export` to TFLite and ONNX, then times one call of the greedy
policy on a batch of 1 and of 256 observations, each way in a fresh process of its own:
  * SavedModel (TF): `tf.saved_model.load(...).signatures["action"]` on numpy inputs
    converted with tf.constant, as README's "Using a saved policy without rlrun" calls it;
  * TFLite: the exported file in tflite-runtime's interpreter (its signature runner);
  * ONNX Runtime: the exported file in an onnxruntime session (default CPU provider);
  * numpy mirror: rlrun's numpy copy of the greedy policy (PyPolicy.action on a numpy
    TimeStep), what rlrun's actors and evaluators run; built from the run's checkpoint.
Each process times `--calls` calls after 50 warm-up calls and reports the median per call;
the processes run `--runs` times, alternating ways, and the table has the median of those
medians, and observations per second at batch 256. Writes section "inference" of
BENCHMARKS.md.

Usage:
  python scripts/bench_inference.py --runs 3
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

from benchmarks_md import replace_section

REPO = Path(__file__).resolve().parent.parent
CONFIGS = {
    "DQN CartPole": ("dqn_cartpole.gin", ["train.Experiment.num_iterations=200"]),
    "SAC Minitaur": ("sac_minitaur.gin", ["train.Experiment.num_iterations=20",
                                          "train.Experiment.initial_collect_steps=100",
                                          "train.Experiment.num_eval_episodes=1"]),
}
WAYS = ["SavedModel (TF)", "TFLite", "ONNX Runtime", "numpy mirror"]
BATCHES = (1, 256)


def _median_call_us(call, calls: int) -> float:
  for _ in range(50):
    call()
  times = []
  for _ in range(calls):
    start = time.perf_counter()
    call()
    times.append(time.perf_counter() - start)
  return statistics.median(times) * 1e6


def _observations(root: Path, batch: int):
  import numpy as np
  spec = json.loads((root / "policies" / "policy" / "rlrun_policy.json").read_text())
  shape = spec["time_step_spec"]["fields"]["observation"]["shape"]
  return np.random.default_rng(0).uniform(-1, 1, [batch] + shape).astype(np.float32)


def worker(way: str, root: Path, calls: int) -> dict:
  """Median µs per call at each batch size, for one way of running the policy."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  results = {}
  for batch in BATCHES:
    observations = _observations(root, batch)
    n = calls if batch == 1 else max(calls // 8, 20)
    if way == "SavedModel (TF)":
      import tensorflow as tf
      action = tf.saved_model.load(str(root / "policies" / "policy")).signatures["action"]
      def call():
        return action(step_type=tf.ones([batch], tf.int32), reward=tf.zeros([batch]),
                      discount=tf.ones([batch]), observation=tf.constant(observations))
    elif way == "TFLite":
      from tflite_runtime.interpreter import Interpreter
      runner = Interpreter(str(root / "policy.tflite")).get_signature_runner()
      def call():
        return runner(observation=observations)
    elif way == "ONNX Runtime":
      import onnxruntime
      session = onnxruntime.InferenceSession(str(root / "policy.onnx"),
                                             providers=["CPUExecutionProvider"])
      def call():
        return session.run(["action"], {"observation": observations})
    else:
      call = _numpy_mirror_call(root, observations)
    results[batch] = _median_call_us(call, n)
  results["modules"] = sorted(m for m in ("tensorflow", "rlrun") if m in sys.modules)
  return results


def _numpy_mirror_call(root: Path, observations):
  import gin
  import numpy as np
  from rlrun import configs
  from rlrun.train.experiment import Experiment
  from rlrun.trajectories import time_step as ts
  configs.parse(root / "config.gin", [])
  experiment = Experiment(root_dir=str(root))
  experiment.build()
  experiment.restore()
  policy = experiment.agent.policy.as_numpy_policy(greedy=True)
  experiment.close()
  gin.clear_config()
  step = ts.transition(observations, np.zeros(len(observations), np.float32),
                       np.ones(len(observations), np.float32))
  return lambda: policy.action(step)


def _train(root: Path, config: str, bindings) -> None:
  args = [sys.executable, "-m", "rlrun.cli", "train", "--config", config, "--root-dir", str(root)]
  for binding in bindings:
    args += ["--gin-param", binding]
  subprocess.run(args, check=True, capture_output=True, text=True)
  for fmt in ("tflite", "onnx"):
    subprocess.run([sys.executable, "-m", "rlrun.cli", "export", "--root-dir", str(root),
                    "--format", fmt, "--output", str(root / f"policy.{fmt}")],
                   check=True, capture_output=True, text=True)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--calls", type=int, default=2000, help="Calls timed at batch 1 "
                      "(batch 256: an eighth).")
  parser.add_argument("--worker", nargs=3, metavar=("WAY", "ROOT", "CALLS"),
                      help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    way, root, calls = args.worker
    print(json.dumps(worker(way, Path(root), int(calls))))
    return
  measured = {}
  with tempfile.TemporaryDirectory() as scratch:
    for name, (config, bindings) in CONFIGS.items():
      root = Path(scratch) / config.replace(".gin", "")
      print(f"training and exporting {name}...", flush=True)
      _train(root, config, bindings)
      measured[name] = {way: [] for way in WAYS}
      for run in range(args.runs):
        for way in WAYS:
          out = subprocess.run([sys.executable, __file__, "--worker", way, str(root),
                                str(args.calls)], check=True, capture_output=True, text=True)
          result = json.loads(out.stdout.strip().splitlines()[-1])
          measured[name][way].append(result)
          print(f"{name} run {run} {way}: batch 1 {result['1']:.1f} us, batch 256 "
                f"{result['256']:.1f} us (imports {result['modules']})", flush=True)
  lines = [f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} "
           f"cores, by `python scripts/bench_inference.py --runs {args.runs} --calls "
           f"{args.calls}`: median µs per call of the greedy policy (median over {args.runs} "
           "fresh processes, alternating, of the median over the calls in each; batch 256: "
           f"{max(args.calls // 8, 20)} calls), and observations per second at batch 256.",
           "", "| policy | way | batch 1 (µs) | batch 256 (µs) | batch 256 (obs/s) | "
           "imports TF |", "|---|---|---|---|---|---|"]
  for name, ways in measured.items():
    for way, results in ways.items():
      one = statistics.median(r["1"] for r in results)
      many = statistics.median(r["256"] for r in results)
      lines.append(f"| {name} | {way} | {one:.1f} | {many:.1f} | {256e6 / many:,.0f} | "
                   f"{'yes' if 'tensorflow' in results[0]['modules'] else 'no'} |")
  replace_section(REPO / "BENCHMARKS.md", "inference", ["## Inference latency", "", *lines])
  print("\n".join(lines))


if __name__ == "__main__":
  main()
