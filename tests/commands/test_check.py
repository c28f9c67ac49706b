"""`rlrun check`: the report's numbers against hand-computed ones, every shipped config
passes, and broken configs fail with the line `rlrun train` would print."""

import json
from pathlib import Path

import pytest

from rlrun import cli
from cli_helpers import gin
from test_user_errors import assert_one_line_error, run_in_process

SHIPPED = sorted(p.name for p in (Path(__file__).parents[2] / "gin_configs").glob("*.gin"))


def _check(capsys, *args, probe=False):
  with pytest.raises(SystemExit) as exit_info:
    cli.main(["check", *args] + ([] if probe else ["--no-probe"]))
  captured = capsys.readouterr()
  assert exit_info.value.code == 0, captured.err
  return captured.out


def test_dqn_cartpole_report_matches_hand_computed_numbers(capsys):
  found = json.loads(_check(capsys, "--config", "dqn_cartpole.gin", "--json"))
  env = found["environment"]
  assert env["id"] == "CartPole-v0" and env["episode_step_limit"] == 200
  assert env["observation_spec"]["shape"] == [4] and env["observation_spec"]["dtype"] == "float32"
  assert env["action_spec"] == {"shape": [], "dtype": "int64", "minimum": 0, "maximum": 1}
  # Q-network 4 -> 100 -> 50 -> 2: (4*100 + 100) + (100*50 + 50) + (50*2 + 2) = 5652, and
  # its target copy.
  assert [(n["layers"], n["parameters"]) for n in found["networks"]] == [
      ("4 -> 100 -> 50 -> 2", 5652)] * 2
  # A transition step: step_type int32 4 + observation 4 float32 16 + action int64 8 +
  # next_step_type int32 4 + reward float32 4 + discount float32 4 = 40 bytes; sequences of 2.
  replay = found["replay"]
  assert (replay["capacity"], replay["sampler"], replay["remover"]) == (100000, "uniform", "fifo")
  assert replay["sequence_length"] == 2 and replay["item_bytes"] == 80
  # Reverb stores each step once, however many items share it: 40 bytes per item.
  assert replay["bytes_at_capacity"] == 4_000_000 and replay["samples_per_insert"] is None
  assert found["loop"]["num_iterations"] == 20000 and found["loop"]["batch_size"] == 64
  # Disk: checkpoints every 5000 of 20000 iterations, 3 kept; the agent's variables are the
  # Q-network, its target and Adam's two slots: 4 x 5652 float32 = 90,432 bytes plus the
  # checkpoint's bookkeeping. The replay holds 100 + 20000 steps of 40 bytes.
  disk = found["disk"]
  assert disk["checkpoints_kept"] == 3 and disk["replay_checkpoint_bytes"] == 20100 * 40
  assert 90432 < disk["agent_checkpoint_bytes"] < 2 * 90432
  # policy, collect_policy (greedy: the same net) exports, 5 snapshots and the best one.
  assert disk["policy_copies"] == 2 + 5 + 1 and disk["policy_bytes"] > 5652 * 4
  assert disk["total_bytes"] == 3 * (disk["agent_checkpoint_bytes"] + 20100 * 40) + \
      8 * disk["policy_bytes"]
  assert found["train_command"] == "rlrun train --config dqn_cartpole.gin"


def test_td3_report_in_text_with_bindings(capsys):
  out = _check(capsys, "--config", "td3_pendulum.gin", "--seed", "4",
               *gin("train.Experiment.num_iterations=500"))
  # Actor 3 -> 400 -> 300 -> 1: 1600 + 120300 + 301 = 122201; each critic (observation and
  # action joined) 4 -> 400 -> 300 -> 1: 2000 + 120300 + 301 = 122601.
  assert "3 -> 400 -> 300 -> 1, 122,201 parameters" in out
  assert out.count("4 -> 400 -> 300 -> 1, 122,601 parameters") == 4  # 2 critics, 2 targets
  # A step: step_type 4 + observation 3 float32 12 + action 1 float32 4 + next_step_type 4 +
  # reward 4 + discount 4 = 32 bytes, sequences of 2; capacity 200000 steps -> 6.1 MiB.
  assert "item: 64 bytes uncompressed; at capacity 6.1 MiB" in out
  assert "num_iterations 500" in out and "seed 4" in out
  assert ("train: rlrun train --config td3_pendulum.gin --gin-param "
          "train.Experiment.num_iterations=500 --gin-param 'train.Experiment.seed = 4'") in out


def test_atari_report_counts_the_nature_torso_and_one_frame_per_step(capsys):
  found = json.loads(_check(capsys, "--config", "dqn_atari100k.gin", "--json"))
  assert found["environment"]["id"] == "Atari Pong"
  assert found["environment"]["episode_step_limit"] == 27000  # 108k frames / 4
  # conv 8x8x4->32: 2048*4+32 = 8224; 4x4x32->64: 32832; 3x3x64->64: 36928;
  # 7*7*64 = 3136 -> 512: 1606144; 512 -> 6 actions: 3078. Total 1,687,206.
  layers = "conv 8x8x4->32 -> conv 4x4x32->64 -> conv 3x3x64->64 -> 3136 -> 512 -> 6"
  assert [(n["layers"], n["parameters"]) for n in found["networks"]] == [(layers, 1687206)] * 2
  # A stored step keeps one 84x84 frame: 4 + 7056 + 8 + 4 + 4 + 4 = 7080 bytes; items of
  # 10-step returns span 11 steps + 3 for the stack = 14; Reverb keeps each step once.
  replay = found["replay"]
  assert (replay["frame_stack"], replay["sequence_length"]) == (4, 14)
  assert replay["item_bytes"] == 7080 * 14 and replay["bytes_at_capacity"] == 7080 * 100000


@pytest.mark.parametrize("config, shared", [("dqn_cartpole.gin", True), ("ppo_cartpole.gin", False)])
def test_the_local_replay_keeps_a_step_once_and_the_rollout_queue_each_item(capsys, config,
                                                                            shared):
  found = json.loads(_check(capsys, "--config", config, "--json",
                            *gin("train.Experiment.replay='local'")))
  replay = found["replay"]
  step_bytes = replay["item_bytes"] // replay["sequence_length"]
  per_item = step_bytes if shared else replay["item_bytes"]
  assert replay["shared_steps"] is shared
  assert replay["bytes_at_capacity"] == per_item * replay["capacity"]


def test_the_time_probe_times_the_loop_and_bounds_the_run(capsys, tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  found = json.loads(_check(capsys, "--config", "dqn_cartpole.gin", "--json",
                            *gin("train.Experiment.num_iterations=1000"),
                            *gin("train.Experiment.eval_interval=300"), probe=True))
  time = found["time"]
  assert time["stored_item_bytes"] == found["replay"]["item_bytes"] == 80  # a real item
  assert time["iterations_timed"] >= 8 and time["iterations_timed"] % 8 == 0  # whole groups
  assert time["iteration_seconds"] > 0 and time["random_step_seconds"] > 0
  assert time["evaluations"] == 5  # steps 0, 300, 600, 900 and the last, 1000
  assert time["initial_collect_seconds"] == pytest.approx(100 * time["random_step_seconds"])
  assert time["iterations_seconds"] == pytest.approx(1000 * time["iteration_seconds"])
  waves = -(-10 // time["eval_envs"])  # 10 episodes, len(envs) at a time, 200 steps at most
  assert time["eval_seconds_at_most"] == pytest.approx(5 * waves * 200 * time["eval_step_seconds"])
  assert time["run_seconds"] == pytest.approx(
      time["initial_collect_seconds"] + time["iterations_seconds"] + time["eval_seconds_at_most"])
  assert list(tmp_path.iterdir()) == []
  text = _check(capsys, "--config", "dqn_cartpole.gin", probe=True)
  assert "per iteration (" in text and "timed after a warm-up" in text and "the run: ~" in text
  assert "one real item, sampled back from the table: 80 bytes uncompressed" in text


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_config_passes(capsys, name):
  found = json.loads(_check(capsys, "--config", name, "--json"))
  assert found["networks"] and all(n["parameters"] > 0 for n in found["networks"])
  assert found["replay"]["capacity"] > 0 and found["environment"]["episode_step_limit"]


@pytest.mark.parametrize("args, fragment", [
    (["--config", "nope"], "unknown config 'nope'"),
    (["--config", "dqn_cartpole", *gin("train.Experiment.num_iterations=")], "gin syntax error"),
    (["--config", "dqn_cartpole", *gin("networks.QNetwork.fc_layer_parms=(3,)")],
     "fc_layer_parms"),
    (["--config", "dqn_cartpole", *gin("somewhere/agents.DqnAgent.gamma=0.5")], "nothing uses"),
    (["--config", "dqn_cartpole", *gin("train.Experiment.num_iterations='abc'")],
     "num_iterations"),
    (["--config", "dqn_cartpole", *gin("suite_gym.load.environment_name='Pendulum-v1'")],
     "DqnBuilder needs discrete actions"),
    (["--config", "sac_pendulum", *gin("suite_gym.load.environment_name='CartPole-v0'")],
     "SacBuilder needs continuous"),
    (["--config", "dqn_cartpole", *gin("suite_gym.load.environment_name='CartPol-v0'")],
     "unknown gym environment id"),
    (["--config", "ppo_cartpole", *gin("train.Experiment.batch_size=100")],
     "does not divide the rollout of 256"),
    (["--config", "dqn_cartpole", *gin("replay.make_table.sampler='random'")],
     "unknown sampler 'random'"),
    (["--config", "dqn_cartpole", "--import", "no_such_module_for_check"],
     "cannot import module 'no_such_module_for_check'"),
])
def test_broken_configs_fail_with_the_train_line(capsys, tmp_path, monkeypatch, args, fragment):
  monkeypatch.chdir(tmp_path)
  code, err = run_in_process(capsys, "check", *args)
  assert_one_line_error(code, err, fragment)
  assert list(tmp_path.iterdir()) == []  # nothing written


def test_every_problem_of_the_settings_is_a_line_of_its_own(capsys, tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  code, err = run_in_process(capsys, "check", "--config", "dqn_cartpole.gin",
                             *gin("train.Experiment.batch_size=0"),
                             *gin("train.Experiment.num_iterations='x'"),
                             *gin("train.Experiment.replay='disk'"))
  assert code == 2
  assert err.splitlines() == [
      "rlrun: error: bad config: train.Experiment.num_iterations must be an integer, got 'x'",
      "rlrun: error: bad config: train.Experiment.batch_size must be >= 1, got 0",
      "rlrun: error: bad config: train.Experiment.replay must be one of 'reverb', 'local', got "
      "'disk'"]
  assert list(tmp_path.iterdir()) == []


def test_the_probe_fills_the_table_itself_and_refuses_one_that_never_fills(capsys, tmp_path,
                                                                          monkeypatch):
  monkeypatch.chdir(tmp_path)
  found = json.loads(_check(capsys, "--config", "dqn_cartpole.gin", "--json",
                            *gin("train.Experiment.initial_collect_steps=0"), probe=True))
  assert found["time"]["initial_collect_seconds"] == 0 and found["time"]["iterations_timed"] > 0
  from rlrun.commands import time_probe
  monkeypatch.setattr(time_probe, "MAX_FILL_STEPS", 400)
  code, err = run_in_process(capsys, "check", "--config", "dqn_cartpole.gin",
                             *gin("replay.make_table.min_size_to_sample=5000"))
  assert_one_line_error(code, err, "400 random steps left the replay at",
                        "short of the 5064 it needs", "lower replay.make_table.min_size_to_sample")
  assert list(tmp_path.iterdir()) == []
