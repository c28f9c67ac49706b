"""`rlrun train --actors N --ray ADDRESS` on a multi-node Ray cluster on this machine."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_helpers import gin, popen, rlrun
from commands.test_user_errors import assert_one_line_error, run_in_process
from rlrun.distributed.ray_hosts import LOST, RayCluster
from rlrun.distributed.settings import Settings
from rlrun.distributed.supervisor import ChildSpec
from distributed.test_distributed_training import (
    QUICK, checkpoint_steps, crash_stops_the_run_and_a_rerun_resumes, eval_returns, started_pids,
    started_until_a_checkpoint, status, wait_until)

from ray.cluster_utils import Cluster  # Ray is in the 'test' extra

LEARNER_RESOURCE = "rlrun_learner"


@pytest.fixture(scope="module")
def cluster():
  """A head node marked for the learner and two worker nodes, each its own raylet."""
  nodes = Cluster(initialize_head=True, head_node_args={
      "num_cpus": 3, "resources": {LEARNER_RESOURCE: 1}})
  workers = [nodes.add_node(num_cpus=2) for _ in range(2)]
  nodes.wait_for_nodes()
  yield nodes, workers
  nodes.shutdown()


def ray_args(cluster_address: str, root, steps: int, *extra):
  return ["train", "--config", "dqn_cartpole.gin", "--actors", "2", "--root-dir", str(root),
          "--ray", cluster_address, "--ray-learner-resource", LEARNER_RESOURCE,
          *gin(f"train.Experiment.num_iterations={steps}"), *QUICK, *extra]


def leftovers(scope: Path):
  """Role processes (`python -m rlrun.cli <role>`) of runs under `scope` and Ray actors
  hosting roles, still alive (role processes of other tests' runs, which may run beside
  this module under pytest-xdist, are not this test's)."""
  found = []
  for pattern in ("rlrun.cli (actor|learner|evaluator|replay-server)", "ray::RoleHost"):
    out = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True).stdout
    found += [int(line.split()[0]) for line in out.splitlines()
              if pattern.startswith("ray::") or str(scope) in line]
  return found


def parent(pid: int) -> int:
  return int(Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].split()[1])


def node_running(pid: int, candidates):
  """The node (of `candidates`) whose raylet started the Ray worker that is pid's parent."""
  raylet = parent(parent(pid))
  return next(n for n in candidates if n.all_processes["raylet"][0].process.pid == raylet)


def test_a_hosted_process_reports_its_status_exit_and_a_lost_host(tmp_path, cluster):
  nodes, _ = cluster
  hosts = RayCluster(nodes.address, Settings(), actors=2, learner_resource=LEARNER_RESOURCE)
  try:
    status_file = tmp_path / "status" / "actor_0.json"
    config = tmp_path / "mine.gin"
    config.write_text("train.Experiment.num_iterations = 7\n")
    # The process reports the config it was given: a copy written on its node.
    writer = ("import json, pathlib, sys, time; p = pathlib.Path(%r); p.parent.mkdir(); "
              "c = pathlib.Path(sys.argv[2]); p.write_text(json.dumps({'env_steps': 7, "
              "'config': [c.name, c.read_text(), str(c.parent)]})); time.sleep(60)"
              % str(status_file))
    first = hosts.spawn(ChildSpec("actor_0", ["/no/such/python", "-c", writer, "--config",
                                              str(config)], tmp_path / "actor_0.log"),
                        "==== start\n")  # the host runs it with its own Python
    hosts.learner_node = "elsewhere"  # wherever Ray put it, it is read through its host
    assert first.exit_code() is None
    deadline = time.monotonic() + 60  # a hang guard
    expected = {"env_steps": 7, "config": ["mine.gin", config.read_text()]}
    while {k: v[:2] if k == "config" else v
           for k, v in hosts.remote_statuses(tmp_path).get("actor_0", {}).items()} != expected:
      assert time.monotonic() < deadline, hosts.remote_statuses(tmp_path)
      time.sleep(0.1)
    assert hosts.remote_statuses(tmp_path)["actor_0"]["config"][2] != str(tmp_path)
    first.signal(signal.SIGTERM)
    while first.exit_code() is None:
      assert time.monotonic() < deadline
      time.sleep(0.05)
    assert first.exit_code() == -signal.SIGTERM
    assert hosts.remote_statuses(tmp_path) == {}  # only running roles are asked

    second = hosts.spawn(ChildSpec("actor_1", [sys.executable, "-c", "import time; "
                                               "time.sleep(60)"], tmp_path / "actor_1.log"), "")
    os.kill(parent(second.pid), signal.SIGKILL)  # the host dies; its process goes with it
    while second.exit_code() is None:
      assert time.monotonic() < deadline
      time.sleep(0.05)
    assert second.exit_code() == LOST
    assert (tmp_path / "actor_0.log").read_text().startswith("==== start\n")
  finally:
    hosts.close()
  assert not leftovers(tmp_path)


@pytest.mark.slow
def test_two_actors_on_three_nodes_learn_cartpole_through_an_actor_kill_and_a_node_loss(
    tmp_path, cluster):
  nodes, workers = cluster
  root = tmp_path / "run"
  steps = 15000
  run = popen(*ray_args(nodes.address, root, steps, "--seed", "0",
                        *gin("train.Experiment.checkpoint_interval=2000")))
  wait_until(lambda: status(root, "learner").get("step", 0) >= 1500 and
             "pid" in status(root, "actor_0"), run, "the learner to pass step 1500")
  os.kill(status(root, "actor_0")["pid"], signal.SIGKILL)
  wait_until(lambda: len(started_pids(root).get("actor_0", [])) == 2, run,
             "actor_0's restart")
  # Remove the worker node holding actor_1: it comes back on a node left.
  wait_until(lambda: status(root, "actor_1").get("env_steps", 0) > 0, run, "actor_1 to run")
  lost = node_running(status(root, "actor_1")["pid"], workers)
  nodes.remove_node(lost)
  wait_until(lambda: len(started_pids(root).get("actor_1", [])) == 2, run,
             "actor_1's restart")
  out, err = run.communicate(timeout=900)
  assert run.returncode == 0, out + err

  assert re.search(r"actor_0 exited with code -9 \(SIGKILL\); restarting", out), out
  assert re.search(r"actor_1 exited with code -9 \(SIGKILL\); restarting", out), out
  assert "on node" in (root / "logs" / "launcher.log").read_text()
  assert f"finished at step {steps}" in out
  assert checkpoint_steps(root)[-1] == steps  # the learner stopped at exactly num_iterations
  assert re.search(r"\d+ env steps/s \(2 actors\)", out)
  assert (root / "policies" / "policy" / "saved_model.pb").is_file()
  assert not leftovers(tmp_path)
  workers[workers.index(lost)] = nodes.add_node(num_cpus=2)  # two worker nodes again
  nodes.wait_for_nodes()

  # Learning: as in the local launcher's test (DQN with the tutorial's gamma 1.0 is unstable),
  # a second seed runs, without faults, only when the first misses; a broken setup fails both.
  returns = eval_returns(root)
  if max(returns) < 195:
    retry_root = tmp_path / "seed1"
    retry = rlrun(*ray_args(nodes.address, retry_root, steps, "--seed", "1",
                            *gin("train.Experiment.checkpoint_interval=2000")), timeout=900)
    assert retry.returncode == 0, retry.stdout + retry.stderr
    returns = eval_returns(retry_root)
  assert max(returns) >= 195, returns


@pytest.mark.slow
def test_a_killed_learner_stops_the_ray_run_and_a_rerun_resumes_with_its_replay(
    tmp_path, cluster):
  nodes, _ = cluster
  root = tmp_path / "run"
  args, first = started_until_a_checkpoint(root, 2, 1500, 1500, extra=[
      "--ray", nodes.address, "--ray-learner-resource", LEARNER_RESOURCE])
  crash_stops_the_run_and_a_rerun_resumes(root, args, first, "learner", "learner")
  assert not leftovers(tmp_path)


def test_a_resource_no_node_has_is_one_line_and_writes_nothing(tmp_path, cluster):
  nodes, _ = cluster
  root = tmp_path / "run"
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--actors", "1", "--root-dir",
                 str(root), "--ray", nodes.address, "--ray-learner-resource", "tpu_pod")
  assert result.returncode == 2, result.stdout + result.stderr
  assert result.stderr.strip() == (
      "rlrun: error: --ray-learner-resource tpu_pod: no node of the Ray cluster has the "
      "resource 'tpu_pod'; start the learner's node with ray start --resources "
      "'{\"tpu_pod\": 1}'")
  assert not root.exists()
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--actors", "1", "--root-dir",
                 str(root), "--ray", nodes.address, "--ray-learner-resource", LEARNER_RESOURCE,
                 *gin("distributed.Settings.ray_cpus_per_role=8"))
  assert result.returncode == 2, result.stdout + result.stderr
  assert "learner node" in result.stderr and "ray_cpus_per_role=8" in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1
  assert not root.exists()


def test_an_unreachable_cluster_fails_within_the_rpc_timeout(tmp_path):
  root = tmp_path / "run"
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--actors", "1", "--root-dir",
                 str(root), "--ray", "127.0.0.1:9", *gin("distributed.Settings.rpc_timeout_s=3"),
                 timeout=120)  # a hang guard
  assert result.returncode == 2, result.stdout + result.stderr
  assert re.fullmatch(r"rlrun: error: --ray 127\.0\.0\.1:9: no Ray head node answers there "
                      r"\(.+\); check the address \(ray status on the head prints it\)",
                      result.stderr.strip()), result.stderr
  assert not root.exists()


@pytest.mark.parametrize("args, fragments", [
    (["--actors", "1", "--ray", "nowhere"], ["--ray nowhere: expected 'auto', 'local' or the "
                                            "head node's HOST:PORT"]),
    (["--ray", "auto"], ["--ray runs the roles", "add --actors N"]),
    (["--actors", "1", "--ray-learner-resource", "x"], ["add --ray ADDRESS"]),
    (["--actors", "1", "--ray", "ray://head:10001"], ["Ray Client addresses are not "
                                                      "supported", "ray job submit"]),
    (["--seeds", "0-1", "--ray", "auto"], ["--seeds trains in one process per run; drop --ray"]),
    (["--deterministic", "--ray", "auto"], ["--deterministic trains in one process per run; "
                                            "drop --ray"]),
])
def test_ray_option_mistakes(capsys, tmp_path, args, fragments):
  root = tmp_path / "run"
  assert_one_line_error(*run_in_process(capsys, "train", "--config", "dqn_cartpole.gin",
                                        "--root-dir", str(root), *args), *fragments)
  assert not root.exists()


def test_a_ray_client_address_in_the_environment_is_refused_too(capsys, tmp_path, monkeypatch):
  monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
  root = tmp_path / "run"
  assert_one_line_error(*run_in_process(capsys, "train", "--config", "dqn_cartpole.gin",
                                        "--root-dir", str(root), "--actors", "1", "--ray",
                                        "auto"),
                        "--ray auto (RAY_ADDRESS=ray://head:10001): Ray Client addresses")
  assert not root.exists()


def test_ray_not_installed_names_the_pip_command(capsys, tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
  root = tmp_path / "run"
  assert_one_line_error(*run_in_process(capsys, "train", "--config", "dqn_cartpole.gin",
                                        "--root-dir", str(root), "--actors", "1", "--ray",
                                        "auto"), "pip install 'rlrun[ray]'")
  assert not root.exists()


def test_without_ray_option_ray_is_never_imported():
  code = ("import sys; import rlrun.cli, rlrun.commands.train, rlrun.distributed.launcher; "
          "print('ray' in sys.modules)")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert out.stdout.strip() == "False"
