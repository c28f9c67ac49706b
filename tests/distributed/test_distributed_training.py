"""Distributed training through the CLI: `rlrun train --actors N` and the role commands."""

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from cli_helpers import gin, popen, rlrun
from rlrun.distributed.ports import free_port, wait_for_port
from rlrun.train.checkpointer import committed_numbers

# Small evaluations and frequent checkpoints keep the runs short on 2 cores.
QUICK = [*gin("train.Experiment.num_eval_episodes=5"),
         *gin("train.Experiment.eval_parallel_envs=5")]


def status(root: Path, name: str) -> dict:
  try:
    return json.loads((root / "status" / f"{name}.json").read_text())
  except (OSError, ValueError):
    return {}


def wait_until(predicate, process, what: str, timeout: float = 300):
  """Polls `predicate` until true; fails if `process` exits first or time runs out."""
  deadline = time.time() + timeout
  while time.time() < deadline:
    if predicate():
      return
    assert process.poll() is None, f"exited while waiting for {what}: {process.communicate()}"
    time.sleep(0.2)
  raise AssertionError(f"timed out waiting for {what}")


def started_pids(root: Path) -> dict:
  """{child name: [pids]} from the launcher's log."""
  pids = {}
  for name, pid in re.findall(r"(\S+) (?:re)?started \(pid (\d+)",
                              (root / "logs" / "launcher.log").read_text()):
    pids.setdefault(name, []).append(int(pid))
  return pids


def alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  # A zombie still answers kill(0); its state in /proc says it is gone.
  stat = Path(f"/proc/{pid}/stat")
  return stat.exists() and stat.read_text().split(") ")[-1][0] != "Z"


def checkpoint_steps(root) -> list:
  """The committed checkpoints (their state file written last)."""
  return committed_numbers(str(root / "checkpoints"))


def started_until_a_checkpoint(root: Path, actors: int, steps: int, eval_interval: int,
                               extra=()):
  """Starts `rlrun train --actors N [extra]` (checkpoints every 300 steps) and waits for a
  checkpoint after step 0; returns (its arguments, its process)."""
  args = ["train", "--config", "dqn_cartpole.gin", "--actors", str(actors), "--root-dir",
          str(root), *gin(f"train.Experiment.num_iterations={steps}"),
          *gin("train.Experiment.checkpoint_interval=300"),
          *gin(f"train.Experiment.eval_interval={eval_interval}"), *QUICK, *extra]
  process = popen(*args)
  wait_until(lambda: any(s > 0 for s in checkpoint_steps(root)), process, "a checkpoint")
  return args, process


def listening(port: int) -> bool:
  """Whether something accepts connections on the port (a closed server's TIME_WAIT does not)."""
  return wait_for_port("127.0.0.1", port, timeout=0)


def eval_returns(root: Path) -> list:
  return [json.loads(l)["AverageReturn"]
          for l in (root / "eval" / "results.jsonl").read_text().splitlines()]


def two_actor_cartpole(root: Path, steps: int, seed: int):
  return popen("train", "--config", "dqn_cartpole.gin", "--actors", "2", "--root-dir", str(root),
               "--seed", str(seed), *gin(f"train.Experiment.num_iterations={steps}"),
               *gin("train.Experiment.checkpoint_interval=2000"), *QUICK)


@pytest.mark.slow
def test_two_actors_train_cartpole_and_a_killed_actor_is_restarted(tmp_path):
  root = tmp_path / "run"
  steps = 4000  # learning is checked on Ray (below); these leave time for the restart
  run = two_actor_cartpole(root, steps, seed=0)
  wait_until(lambda: status(root, "learner").get("step", 0) >= 1500 and
             "pid" in status(root, "actor_0"), run, "the learner to pass step 1500")
  victim = status(root, "actor_0")["pid"]
  os.kill(victim, signal.SIGKILL)
  out, err = run.communicate(timeout=600)
  assert run.returncode == 0, out + err

  assert re.search(r"actor_0 exited with code -9 \(SIGKILL\); restarting", out), out
  assert len(started_pids(root)["actor_0"]) == 2  # restarted once, by the supervisor
  assert f"finished at step {steps}" in out
  assert checkpoint_steps(root)[-1] == steps  # the learner stopped at exactly num_iterations
  assert re.search(r"\d+ env steps/s \(2 actors\)", out)
  for policy in ("policy", "collect_policy"):
    assert (root / "policies" / policy / "saved_model.pb").is_file()
  assert any((root / "train").rglob("events.out.tfevents.*"))
  assert not any(alive(p) for pids in started_pids(root).values() for p in pids)

  # Learning with two actors is checked by the same run on a Ray cluster
  # (tests/distributed/test_ray_hosts.py); the role code is the same.


@pytest.mark.slow
def test_sigterm_stops_every_process_and_a_rerun_resumes_with_its_replay(tmp_path):
  root = tmp_path / "run"
  args, first = started_until_a_checkpoint(root, actors=2, steps=2000, eval_interval=1000)
  first.send_signal(signal.SIGTERM)
  out, err = first.communicate(timeout=300)
  assert first.returncode == 130, out + err
  stopped_at = int(re.search(r"stopped at step (\d+); checkpoint saved", out).group(1))
  assert checkpoint_steps(root)[-1] == stopped_at  # the learner checkpointed where it stopped
  port = int(re.search(r"Reverb on port (\d+)", out).group(1))
  assert not any(alive(p) for pids in started_pids(root).values() for p in pids)
  assert not listening(port)

  second = rlrun(*args, timeout=600)
  assert second.returncode == 0, second.stdout + second.stderr
  resumed = re.search(r"resuming from step (\d+) of 2000 \((\d+) replay items restored\)",
                      second.stdout)
  assert resumed, second.stdout
  assert int(resumed.group(1)) == stopped_at
  assert int(resumed.group(2)) > 100  # more than a fresh table's initial random steps
  assert "finished at step 2000" in second.stdout
  assert len(json.loads((root / "run.json").read_text())["sessions"]) == 2


def test_a_wrong_replay_address_fails_with_one_line_naming_it():
  port = free_port()
  result = rlrun("actor", "--config", "dqn_cartpole.gin", "--replay", f"localhost:{port}",
                 *gin("distributed.Settings.rpc_timeout_s=2"), timeout=120)
  assert result.returncode != 0
  lines = result.stderr.strip().splitlines()
  assert lines[-1] == (f"rlrun: error: no Reverb server answered at localhost:{port} within 2 s; "
                       "start `rlrun replay-server` there or fix --replay"), result.stderr
  assert "Traceback" not in result.stderr

  result = rlrun("learner", "--config", "dqn_cartpole.gin", "--replay", "replayhost",
                 timeout=120)
  assert result.returncode == 2
  assert "bad Reverb address 'replayhost': expected HOST:PORT" in result.stderr.splitlines()[-1]


def test_a_rate_limit_that_could_never_sample_is_rejected_before_training(tmp_path):
  root = tmp_path / "run"
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--actors", "1", "--root-dir",
                 str(root), *gin("replay.make_table.min_size_to_sample=200000"), timeout=300)
  assert result.returncode == 2, result.stdout + result.stderr
  assert result.stderr.strip().splitlines()[-1] == (
      "rlrun: error: table 'uniform_table': min_size_to_sample=200000 exceeds "
      "max_size=100000; sampling could never start")
  assert not root.exists()  # nothing left behind


@pytest.mark.slow
def test_role_commands_on_localhost_train_sac_pendulum(tmp_path):
  root = tmp_path / "run"
  port = free_port()
  config = ["--config", "sac_pendulum.gin",
            *gin("train.Experiment.num_iterations=400"),
            *gin("train.Experiment.initial_collect_steps=300"),
            *gin("train.Experiment.batch_size=64"),
            *gin("train.Experiment.eval_interval=200"),
            *gin("train.Experiment.checkpoint_interval=200"), *QUICK]
  replay = ["--replay", f"localhost:{port}"]
  server = popen("replay-server", *config, "--root-dir", str(root), "--port", str(port))
  others = []
  try:
    wait_until(lambda: listening(port), server, "the replay server's port")
    learner = popen("learner", *config, *replay, "--root-dir", str(root))
    evaluator = popen("evaluator", *config, *replay, "--root-dir", str(root))
    actor = popen("actor", *config, *replay)
    others = [learner, evaluator, actor]
    out, err = learner.communicate(timeout=600)
    assert learner.returncode == 0, out + err
    assert "finished at step 400" in out
    for process, name in ((evaluator, "evaluator"), (actor, "actor 0")):
      out, err = process.communicate(timeout=120)
      assert process.returncode == 0, out + err
      assert f"rlrun: {name} " in out
  finally:
    for process in others + [server]:
      if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    out, err = server.communicate(timeout=60)
  assert server.returncode in (0, 130), err
  assert checkpoint_steps(root)[-1] == 400
  results = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  assert [r["step"] for r in results][-1] == 400 and results[0]["step"] == 0
  assert (root / "policies" / "policy" / "saved_model.pb").is_file()
  assert any((root / "replay").iterdir())  # the learner's checkpoints include the replay


@pytest.mark.parametrize("args, message", [
    (["--actors", "-1"], "--actors must be >= 0, got -1"),
    (["--actors", "2", *gin("distributed.Settings.rpc_timeout_s=0")],
     "distributed.Settings.rpc_timeout_s must be > 0, got 0"),
])
def test_bad_distributed_settings_are_one_line_errors(tmp_path, args, message):
  root = tmp_path / "run"
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--root-dir", str(root), *args)
  assert result.returncode == 2, result.stdout + result.stderr
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("rlrun: error: ") and message in last, result.stderr
  assert not root.exists()


@pytest.mark.slow
def test_an_actor_whose_server_dies_retries_for_the_grace_period_then_exits_3(tmp_path):
  root = tmp_path / "run"
  port = free_port()
  config = ["--config", "dqn_cartpole.gin", *gin("distributed.Settings.rpc_timeout_s=2"),
            *gin("distributed.Settings.server_grace_s=4")]
  server = popen("replay-server", *config, "--root-dir", str(root), "--port", str(port))
  actor = None
  try:
    wait_until(lambda: listening(port), server, "the replay server's port")
    actor = popen("actor", *config, "--replay", f"localhost:{port}", "--root-dir", str(root))
    wait_until(lambda: status(root, "actor_0").get("state") ==
               "waiting for the learner's first weights", actor, "the actor to start")
    server.kill()
    server.communicate(timeout=60)
    out, err = actor.communicate(timeout=120)
  finally:
    for process in (server, actor):
      if process is not None and process.poll() is None:
        process.kill()
  assert actor.returncode == 3, out + err
  message = err.strip().splitlines()[-1]
  assert re.fullmatch(rf"rlrun: error: actor 0: lost the Reverb server at localhost:{port} while "
                      r"pulling policy weights: no answer for \d+ s \(grace period 4 s\); is "
                      r"`rlrun replay-server` still running\?", message), out + err


def crash_stops_the_run_and_a_rerun_resumes(root: Path, args, first, victim: str, role: str):
  """Kills `victim` of the run `first`; the run must stop keeping its last checkpoint and the
  same command resume from it with its replay."""
  os.kill(started_pids(root)[victim][0], signal.SIGKILL)
  out, err = first.communicate(timeout=300)
  assert first.returncode == 1, out + err
  assert f"rlrun: the {role} crashed" in out, out
  assert "run the same command to resume" in out, out
  assert not any(alive(p) for pids in started_pids(root).values() for p in pids)
  last = checkpoint_steps(root)[-1]

  second = rlrun(*args, timeout=600)
  assert second.returncode == 0, second.stdout + second.stderr
  resumed = re.search(r"resuming from step (\d+) of 1500 \((\d+) replay items restored\)",
                      second.stdout)
  assert resumed and int(resumed.group(1)) == last, second.stdout
  assert int(resumed.group(2)) > 0
  assert "finished at step 1500" in second.stdout


@pytest.mark.slow
def test_a_crashed_server_stops_the_run_and_a_rerun_resumes(tmp_path):
  # A crashed learner: tests/distributed/test_ray_hosts.py, the same launcher code with its
  # processes on a Ray cluster.
  root = tmp_path / "run"
  args, first = started_until_a_checkpoint(root, actors=1, steps=1500, eval_interval=1500)
  crash_stops_the_run_and_a_rerun_resumes(root, args, first, "replay_server", "replay server")


@pytest.mark.slow
def test_no_child_outlives_a_sigkilled_launcher_and_a_rerun_resumes(tmp_path):
  root = tmp_path / "run"
  args, launcher = started_until_a_checkpoint(root, actors=2, steps=1500, eval_interval=1500)
  children = [p for pids in started_pids(root).values() for p in pids]
  assert len(children) == 5  # server, learner, evaluator, 2 actors
  os.kill(launcher.pid, signal.SIGKILL)
  launcher.communicate()
  deadline = time.time() + 10  # a hang guard; scripts/bench_faults.py measures the delay
  while any(alive(p) for p in children) and time.time() < deadline:
    time.sleep(0.05)
  assert not any(alive(p) for p in children)
  learner_log = (root / "logs" / "learner.log").read_text()
  assert "Traceback" not in learner_log
  last = checkpoint_steps(root)[-1]
  second = rlrun(*args, timeout=600)
  assert second.returncode == 0, second.stdout + second.stderr
  assert re.search(rf"resuming from step {last} of 1500", second.stdout), second.stdout


# config -> (iterations, train steps per iteration, batch size) as run below.
OFF_POLICY_AGENTS = {"td3_pendulum.gin": (100, 1, 256), "c51_cartpole.gin": (4, 128, 64)}


@pytest.mark.slow
@pytest.mark.parametrize("config", sorted(OFF_POLICY_AGENTS))
def test_an_off_policy_agent_trains_with_two_actors(tmp_path, config):
  iterations, train_steps, batch = OFF_POLICY_AGENTS[config]
  root = tmp_path / "run"
  result = rlrun("train", "--config", config, "--actors", "2", "--root-dir", str(root),
                 *gin(f"train.Experiment.num_iterations={iterations}"),
                 *gin("train.Experiment.initial_collect_steps=300"),
                 *gin(f"train.Experiment.eval_interval={iterations}"), *QUICK, timeout=600)
  assert result.returncode == 0, result.stdout + result.stderr
  assert f"finished at step {iterations}" in result.stdout
  steps = [e["step"] for e in map(json.loads, (root / "eval" / "results.jsonl").read_text()
                                  .splitlines())]
  assert steps[-1] == iterations  # (the step-0 one only when the evaluator saw step 0's weights)
  # Every train step sampled a batch of the actors' transitions from the server.
  status = json.loads((root / "status" / "replay_server.json").read_text())
  assert status["samples"] >= iterations * train_steps * batch
  assert (root / "policies" / "policy" / "saved_model.pb").is_file()


@pytest.mark.slow
def test_ppo_trains_with_two_actors_through_the_rollout_queue(tmp_path):
  root = tmp_path / "run"
  result = rlrun("train", "--config", "ppo_cartpole.gin", "--actors", "2", "--root-dir", str(root),
                 *gin("train.Experiment.num_iterations=20"),
                 *gin("train.Experiment.eval_interval=20"), *QUICK, timeout=600)
  assert result.returncode == 0, result.stdout + result.stderr
  assert "finished at step 20" in result.stdout
  evals = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  assert evals[-1]["step"] == 20
  # 20 updates of 8 rollout items each came through the queue from the actors.
  status = json.loads((root / "status" / "replay_server.json").read_text())
  assert status["samples"] >= 20 * 8
  assert (root / "policies" / "policy" / "saved_model.pb").is_file()
