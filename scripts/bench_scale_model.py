"""Benchmark: how far one learner and one Reverb server scale, measured in parts, then modelled.

This machine has 2 cores, so a 64-actor run cannot be measured here. Instead, for each
config in --configs, `rlrun train --actors 1` runs --runs times (scripts/bench_distributed.py's
measurement: a warm-up, then a window in which each process's CPU time and the learner's
and actor's rates are read), giving per unit of work:
  * the actor's CPU seconds per env step (env step, policy, writes to Reverb);
  * the learner's CPU seconds per train step (sampling, decoding, the update, weights);
  * the server's CPU seconds per iteration (one env step inserted and one batch sampled per
    train step, the default samples-per-insert ratio of these configs);
  * the bytes of one step and of one sampled batch (`rlrun check --json`: item bytes,
    sequence length, batch size).
Then Ray's cost per role on a three-node Ray cluster on this machine (ray.cluster_utils):
the seconds to place a role's host and start its process, and the launcher's CPU cost of one
(non-blocking) exit poll of a host.
From these the model gives, per config, a learner's train steps/s on one core, the actors
that keep it busy, the server cores and the network bytes/s at that rate, and the
samples_per_insert that N actors support. One point anchors the model: `--actors 2 --ray`
on that cluster, measured, against the model's prediction for 2 cores.

Needs rlrun[ray]. Usage:
  python scripts/bench_scale_model.py                         # dqn_cartpole, sac_minitaur
  python scripts/bench_scale_model.py --runs 1 --window 15    # a quick look
"""

import argparse
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List

from bench_distributed import measure
from benchmarks_md import replace_section

REPO = Path(__file__).resolve().parent.parent
LEARNER_RESOURCE = "rlrun_learner"


def check(config: str) -> dict:
  out = subprocess.run([sys.executable, "-m", "rlrun", "check", "--config", config, "--json"],
                       capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
  return json.loads(out.stdout)


def parts(config: str, args: argparse.Namespace) -> dict:
  """Per-unit CPU costs of each role, medians over --runs runs with one actor."""
  rows = []
  for run in range(args.runs):
    row = measure(1, args, config)
    rows.append(row)
    print(f"{config} run {run}: {json.dumps(row)}", flush=True)

  def per(role: str, rate: str) -> float:
    return statistics.median(r["cores"][role] / r[rate] for r in rows)

  info = check(config)
  replay, loop = info["replay"], info["loop"]
  return {
      "config": config, "rows": rows,
      "actor_cpu_per_step": per("actor_0", "env_steps_per_s"),
      "learner_cpu_per_train": per("learner", "train_steps_per_s"),
      "server_cpu_per_iteration": per("replay_server", "train_steps_per_s"),
      "train_steps_per_s": statistics.median(r["train_steps_per_s"] for r in rows),
      "step_bytes": replay["item_bytes"] / replay["sequence_length"],
      "batch_bytes": replay["item_bytes"] * loop["batch_size"],
      "batch_size": loop["batch_size"],
      "env_steps_per_train": loop["collect_steps_per_iteration"] / loop[
          "train_steps_per_iteration"]}


def ray_overhead(address: str, runs: int) -> dict:
  """Seconds to place a host and start a process in it; the launcher's time per exit poll."""
  from rlrun.distributed.ray_hosts import RayCluster
  from rlrun.distributed.settings import Settings
  from rlrun.distributed.supervisor import ChildSpec
  cluster = RayCluster(address, Settings(), actors=1, learner_resource=LEARNER_RESOURCE)
  starts, polls = [], []
  try:
    with tempfile.TemporaryDirectory() as logs:
      for i in range(runs):
        spec = ChildSpec(name=f"actor_{i}", argv=[sys.executable, "-c",
                                                   "import time; time.sleep(60)"],
                         log_path=Path(logs) / f"actor_{i}.log")
        t0 = time.perf_counter()
        process = cluster.spawn(spec, "")
        starts.append(time.perf_counter() - t0)
        for _ in range(50):
          t0 = time.perf_counter()
          process.exit_code()
          polls.append(time.perf_counter() - t0)
        process.close()
  finally:
    cluster.close()
  return {"start_s": statistics.median(starts), "poll_s": statistics.median(polls),
          "starts": starts}


def model(p: dict) -> dict:
  """What one learner on one core supports, from the measured parts."""
  learner_rate = 1.0 / p["learner_cpu_per_train"]  # train steps/s on one core
  actor_rate = 1.0 / p["actor_cpu_per_step"]  # env steps/s per actor core
  env_rate = learner_rate * p["env_steps_per_train"]
  return {
      "learner_rate": learner_rate, "actor_rate": actor_rate,
      "actors_to_saturate": math.ceil(env_rate / actor_rate),
      "server_cores": learner_rate * p["server_cpu_per_iteration"],
      "actor_bytes_per_s": actor_rate * p["step_bytes"],
      "learner_bytes_per_s": learner_rate * p["batch_bytes"],
      # samples per insert that lets N actors run flat out: batch x train steps/s over
      # inserts/s
      "spi_for": {n: p["batch_size"] * learner_rate / (n * actor_rate) for n in (8, 64)},
      # On this machine every role shares 2 cores: the CPU of one iteration bounds it.
      "two_core_rate": 2.0 / (p["learner_cpu_per_train"] + p["server_cpu_per_iteration"] +
                              p["actor_cpu_per_step"] * p["env_steps_per_train"])}


def anchor(address: str, config: str, args: argparse.Namespace) -> List[dict]:
  rows = []
  for run in range(args.runs):
    row = measure(2, args, config, ["--ray", address, "--ray-learner-resource",
                                    LEARNER_RESOURCE])
    rows.append(row)
    print(f"anchor {config} run {run}: {json.dumps(row)}", flush=True)
  return rows


def _si(value: float) -> str:
  for unit, scale in (("MB", 1e6), ("kB", 1e3)):
    if value >= scale:
      return f"{value / scale:.1f} {unit}"
  return f"{value:.0f} B"


def write_report(path: Path, args, measured: List[dict], overhead: dict, anchor_rows,
                 anchor_config: str) -> None:
  lines = [
      "## Scaling out: the parts measured, the whole modelled (issue 13; "
      "`scripts/bench_scale_model.py`)", "",
      f"Machine: {os.cpu_count()} cores, no GPU, Python {platform.python_version()}, "
      f"{time.strftime('%Y-%m-%d')}. Command:", "",
      "    " + " ".join(shlex.quote(a) for a in ["python", "scripts/bench_scale_model.py",
                                                 *sys.argv[1:]]), "",
      f"Each config: `rlrun train --actors 1`, {args.runs} runs, {args.warmup:g} s warm-up, "
      f"{args.window:g} s window; CPU (utime + stime) per process over the window divided by "
      "its rate, medians. CPU seconds are what a core supplies per second, so 1 / (CPU per "
      "unit) is the rate one core sustains (the learner's TensorFlow may spread one step over "
      "threads; its rate per core is what counts here). Server CPU is per iteration: one env "
      "step inserted plus one sampled batch.", "",
      "| config | actor CPU / env step | learner CPU / train step | server CPU / iteration | "
      "bytes / env step | bytes / batch |",
      "|---|---|---|---|---|---|"]
  for p in measured:
    lines.append(f"| {p['config']} | {p['actor_cpu_per_step'] * 1e3:.2f} ms | "
                 f"{p['learner_cpu_per_train'] * 1e3:.2f} ms | "
                 f"{p['server_cpu_per_iteration'] * 1e3:.2f} ms | {p['step_bytes']:.0f} | "
                 f"{_si(p['batch_bytes'])} |")
  lines += [
      "", f"Ray, three nodes on this machine: placing a role's host and starting its process "
      f"takes {overhead['start_s']:.2f} s (median of {len(overhead['starts'])}); one "
      f"non-blocking exit poll of a host costs the launcher {overhead['poll_s'] * 1e3:.2f} ms "
      "(median of 250). The launcher polls each role every "
      "0.25 s, so 64 actors cost it "
      f"~{64 * overhead['poll_s'] / 0.25 * 100:.0f}% of a core.", "",
      "The model, per learner on one dedicated core (a GPU learner raises `learner train "
      "steps/s` and every column after it in proportion):", "",
      "| config | learner train steps/s | one actor's env steps/s | actors that keep the "
      "learner busy | server cores at that rate | network per actor | into the learner | "
      "samples_per_insert for 8 / 64 actors |",
      "|---|---|---|---|---|---|---|---|"]
  for p in measured:
    m = p["model"]
    lines.append(f"| {p['config']} | {m['learner_rate']:.0f} | {m['actor_rate']:.0f} | "
                 f"{m['actors_to_saturate']} | {m['server_cores']:.2f} | "
                 f"{_si(m['actor_bytes_per_s'])}/s | {_si(m['learner_bytes_per_s'])}/s | "
                 f"{m['spi_for'][8]:.1f} / {m['spi_for'][64]:.2f} |")
  measured_rate = statistics.median(r["train_steps_per_s"] for r in anchor_rows)
  anchor_runs = ", ".join(f"{r['train_steps_per_s']:.1f}" for r in anchor_rows)
  predicted = next(p for p in measured if p["config"] == anchor_config)["model"]["two_core_rate"]
  lines += [
      "", f"Anchor: `rlrun train --config {anchor_config} --actors 2 --ray ADDRESS` on the "
      "three-node cluster: "
      f"{anchor_runs} train steps/s, "
      f"median **{measured_rate:.1f}**; the model predicts {predicted:.1f} for 2 cores (the "
      "CPU of one iteration, learner + server + actor, against 2 cores; the actors' second "
      "process and Ray's own daemons are not in it) = "
      f"**{measured_rate / predicted:.2f}x** of the prediction."]
  lines += ["", args.note] if args.note else []
  replace_section(path, "scale-model", lines)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--configs", nargs="+", default=["dqn_cartpole.gin", "sac_minitaur.gin"])
  parser.add_argument("--anchor-config", default="sac_minitaur.gin")
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--warmup", type=float, default=15.0, help="seconds of training first")
  parser.add_argument("--window", type=float, default=30.0, help="seconds measured")
  parser.add_argument("--initial-collect-steps", type=int, default=1000)
  parser.add_argument("--note", default="", help="a paragraph appended to the section")
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  args = parser.parse_args()
  measured = []
  for config in args.configs:
    p = parts(config, args)
    p["model"] = model(p)
    measured.append(p)
  from ray.cluster_utils import Cluster
  nodes = Cluster(initialize_head=True, head_node_args={
      "num_cpus": 3, "resources": {LEARNER_RESOURCE: 1}})
  for _ in range(2):
    nodes.add_node(num_cpus=2)
  nodes.wait_for_nodes()
  try:
    overhead = ray_overhead(nodes.address, runs=5)
    print(f"ray: {json.dumps(overhead)}", flush=True)
    anchor_rows = anchor(nodes.address, args.anchor_config, args)
  finally:
    nodes.shutdown()
  write_report(args.output, args, measured, overhead, anchor_rows, args.anchor_config)
  print(f"wrote {args.output}")


if __name__ == "__main__":
  main()
