"""The table of bad inputs: every one ends in one `rlrun: error:` line, exit 2, nothing changed.

Classes: invalid values of every option and of the loop's parameters, unusable agents
and replay settings, unwritable outputs, and corrupt or foreign inputs. `{run}` is a
finished run (the session's smoke run) whose files must not change; `{tmp}` a fresh
directory; `{file}` a regular file there.
"""

import shutil

import pytest

from cli_helpers import snapshot
from test_user_errors import assert_one_line_error, run_in_process

TRAIN = ["train", "--config", "dqn_cartpole.gin", "--root-dir", "{tmp}/new"]


PPO = ["train", "--config", "ppo_cartpole.gin", "--root-dir", "{tmp}/new"]


def gin(binding):
  return TRAIN + ["--gin-param", binding]


CASES = [
    # ---- options -----------------------------------------------------------------------
    (["train", "--config", "nope"], "unknown config 'nope'"),
    (["train", "--config", "{tmp}"], "unknown config"),
    (["train"], "Missing option '--config'"),
    (["train", "--config", "dqn_cartpole", "--bogus"], "No such option"),
    (TRAIN + ["--seed", "-1"], "--seed must be >= 0"),
    (TRAIN + ["--seed", "abc"], "'abc' is not a valid integer"),
    (TRAIN + ["--actors", "-2"], "--actors must be >= 0"),
    (TRAIN + ["--actors", "x"], "is not a valid integer"),
    (["eval"], "pass --root-dir"),
    (["eval", "--root-dir", "{tmp}/missing"], "no such directory"),
    (["eval", "--policy", "{tmp}/missing"], "no such directory"),
    (["eval", "--root-dir", "{run}", "--episodes", "0"], "--episodes must be >= 1"),
    (["eval", "--root-dir", "{run}", "--episodes", "many"], "not a valid integer"),
    (["eval", "--root-dir", "{tmp}"], "has no saved policy"),
    (["eval", "--root-dir", "{run}", "--seed", "-4"], "--seed must be >= 0"),
    (["eval", "--root-dir", "{run}", "--step", "7"], "snapshots kept: 150, 300, or best, last"),
    (["eval", "--root-dir", "{run}", "--step", "first"], "use a step number, best or last"),
    (["eval", "--policy", "{run}/policies/policy", "--step", "best"], "drop it or --policy"),
    (["record-video", "--root-dir", "{run}", "--step", "99"], "no policy for --step 99"),
    (gin("train.Experiment.policy_snapshots=-1"), "policy_snapshots must be >= 0"),
    (gin("train.Experiment.keep_best_policy=1"), "keep_best_policy must be True or False"),
    (["eval", "--root-dir", "{run}", "--seed", "x"], "not a valid integer"),
    (["eval", "--policy", "{tmp}"], "cannot load policy"),
    (["record-video", "--root-dir", "{run}", "--fps", "0"], "--fps must be >= 1"),
    (["record-video", "--root-dir", "{run}", "--episodes", "0"], "--episodes"),
    (["record-video", "--root-dir", "{run}", "--output", "{tmp}/clip.avi"], ".mp4 or .gif"),
    (["record-video", "--root-dir", "{run}", "--output", "{tmp}"], "is a directory"),
    (["record-video", "--root-dir", "{run}", "--output", "/proc/rlrun/clip.mp4"],
     "cannot write"),
    (["record-video", "--root-dir", "{run}", "--output", "{file}/clip.mp4"], "cannot write"),
    (["actor", "--config", "dqn_cartpole", "--replay", "localhost:1", "--task-id", "3",
      "--num-tasks", "2"], "--task-id must be in [0, --num-tasks)"),
    (["plot"], "give at least one run directory"),
    (["plot", "{tmp}/missing"], "does not exist"),
    (["plot", "{file}"], "is a file"),
    (["plot", "{tmp}"], "holds no rlrun run"),
    (["plot", "{run}", "--output", "{tmp}"], "is a directory"),
    (["plot", "{run}", "--output", "{tmp}/new/curve.jpg"], ".png, .svg or .pdf"),
    (["plot", "{run}", "--output", "/proc/rlrun/curve.png"], "cannot write"),
    (["plot", "{run}", "--output", "{file}/curve.png"], "cannot write"),
    (["plot", "{run}", "--output", "{tmp}/new/p.png", "--csv", "{tmp}"], "is a directory"),
    (["plot", "{run}", "--output", "{tmp}/new/p.png", "--metric", "Score"], "no metric 'Score'"),
    (["plot", "{run}", "--output", "{tmp}/new/p.png", "--group-by", "agents.DqnAgent.tau"],
     "does not bind agents.DqnAgent.tau"),
    (["plot", "{run}", "--x", "time"], "Invalid value for '--x'"),
    (["plot", "{run}", "--aggregate", "median"], "Invalid value for '--aggregate'"),
    (TRAIN + ["--seeds", "3-1"], "the range 3-1 goes down"),
    (TRAIN + ["--seeds", "a,b"], "write seeds as N, A-B or a comma list"),
    (TRAIN + ["--seeds", "0-1", "--jobs", "0"], "--jobs must be >= 1"),
    (TRAIN + ["--jobs", "2"], "add --seeds"),
    (TRAIN + ["--seeds", "0-1", "--seed", "2"], "drop --seed"),
    (TRAIN + ["--seeds", "0-1", "--actors", "2"], "drop --actors"),
    (TRAIN + ["--seeds", "0-1", "--gin-param", "train.Experiment.seed=4"],
     "drop that --gin-param"),
    (TRAIN + ["--seeds", "0-1", "--gin-param", "somewhere/agents.DqnAgent.gamma=0.5"],
     "nothing uses"),
    (["train", "--config", "dqn_cartpole", "--root-dir", "{run}", "--seeds", "0"],
     "holds a single run"),
    (["train", "--config", "dqn_cartpole", "--root-dir", "{file}", "--seeds", "0"], "is a file"),
    (["configs", "show", "nope"], "unknown config 'nope'"),
    (["configs", "copy", "dqn_cartpole", "{file}"], "exists; choose another DEST"),
    (["configs", "copy", "dqn_cartpole", "/proc/rlrun/mine.gin"], "cannot write"),
    (["configs", "copy", "dqn_cartpole", "{file}/mine.gin"], "cannot write"),
    # ---- loop parameters ---------------------------------------------------------------
    (gin("num_iterations=100"), "binds nothing"),
    (gin("train.Experiment.num_iterations='abc'"), "num_iterations must be an integer"),
    (gin("train.Experiment.num_iterations=0"), "num_iterations must be >= 1"),
    (gin("train.Experiment.num_iterations=2.5"), "num_iterations must be an integer"),
    (gin("train.Experiment.batch_size=0"), "batch_size must be >= 1"),
    (gin("train.Experiment.train_steps_per_iteration=0"), "train_steps_per_iteration must be >= 1"),
    (gin("train.Experiment.collect_steps_per_iteration=-1"), "collect_steps_per_iteration"),
    (gin("train.Experiment.eval_interval=-5"), "eval_interval must be >= 0"),
    (gin("train.Experiment.checkpoint_interval=0"), "checkpoint_interval must be >= 1"),
    (gin("train.Experiment.num_eval_episodes=0"), "num_eval_episodes must be >= 1"),
    (gin("train.Experiment.use_xla='yes'"), "use_xla must be True or False"),
    (gin("train.Experiment.strategy='tpu'"), "tpu"),
    (gin("train.Experiment.seed=-3"), "seed must be >= 0"),
    (gin("train.Experiment.intra_op_threads=0"), "intra_op_threads must be a positive integer"),
    (gin("train.Experiment.intra_op_threads=1.5"), "intra_op_threads must be a positive integer"),
    (gin("train.Experiment.env_fn=3"), "env_fn must be a function"),
    (gin("tf.keras.optimizers.Adam.learning_rate='abc'"), "Adam"),
    (gin("train.Experiment.num_iterations="), "gin syntax error"),
    (gin("networks.QNetwork.fc_layer_parms=(3,)"), "fc_layer_parms"),
    (gin("somewhere/agents.DqnAgent.gamma=0.5"), "nothing uses"),
    # ---- agents, environments, replay --------------------------------------------------
    (gin("suite_gym.load.environment_name='Pendulum-v1'"), "DqnBuilder needs discrete actions"),
    (["train", "--config", "sac_pendulum", "--root-dir", "{tmp}/new", "--gin-param",
      "suite_gym.load.environment_name='CartPole-v0'"], "SacBuilder needs continuous"),
    (["train", "--config", "sac_pendulum", "--root-dir", "{tmp}/new", "--gin-param",
      "networks.ActorDistributionNetwork.continuous_projection_net = "
      "@networks.NormalProjectionNetwork"], "SacAgent's actor needs a squashed projection, got "
     "NormalProjectionNetwork"),
    (["train", "--config", "c51_cartpole", "--root-dir", "{tmp}/new", "--gin-param",
      "suite_gym.load.environment_name='Pendulum-v1'"],
     "C51Builder needs discrete actions, but the environment's actions are continuous"),
    (["train", "--config", "td3_pendulum", "--root-dir", "{tmp}/new", "--gin-param",
      "suite_gym.load.environment_name='CartPole-v1'"],
     "Td3Builder needs continuous (Box) actions, but the environment's actions are discrete"),
    (gin("suite_gym.load.environment_name='CartPol-v0'"), "unknown gym environment id"),
    (gin("train.Experiment.collect_parallel_envs=4"), "DqnBuilder collects from one environment"),
    (gin("train.Experiment.collect_parallel_envs=0"), "collect_parallel_envs must be >= 1"),
    (PPO + ["--gin-param", "train.Experiment.batch_size=100"],
     "minibatch size (train.Experiment.batch_size = 100) does not divide the rollout of 256"),
    (PPO + ["--gin-param", "train.Experiment.collect_steps_per_iteration=4"],
     "the rollout of 4 steps (train.Experiment.collect_steps_per_iteration) is shorter than one "
     "step per collect environment (train.Experiment.collect_parallel_envs = 8); it needs at "
     "least 8"),
    (PPO + ["--gin-param", "train.Experiment.collect_steps_per_iteration=260"],
     "must be a whole number of steps per collect environment"),
    (PPO + ["--gin-param", "train.Experiment.initial_collect_steps=100"],
     "PPO collects no random initial steps"),
    (PPO + ["--gin-param", "train.Experiment.train_steps_per_iteration=2"],
     "one iteration is one PPO update"),
    (PPO + ["--gin-param", "train.Experiment.overlap_collection=True"],
     "each rollout must come from the current policy"),
    (PPO + ["--gin-param", "agents.PpoAgent.clip_range=1.5"], "clip_range in (0, 1)"),
    (gin("replay.make_table.max_size=0"), "max_size must be >= 1"),
    (gin("replay.make_table.sampler='random'"), "unknown sampler 'random'"),
    (gin("replay.make_table.min_size_to_sample=0"), "min_size_to_sample must be >= 1"),
    # ---- run directories ---------------------------------------------------------------
    (["train", "--config", "dqn_cartpole", "--root-dir", "{file}"], "is a file"),
    (["train", "--config", "dqn_cartpole", "--root-dir", "/proc/rlrun/run"], "cannot"),
    (["train", "--config", "dqn_cartpole", "--root-dir", "{file}/run"], "cannot"),
    (["train", "--config", "sac_pendulum", "--root-dir", "{run}"], "holds a run of config"),
    (["train", "--config", "dqn_cartpole", "--root-dir", "{run}", "--seed", "9"],
     "started with another config"),
    (["train", "--config", "dqn_cartpole", "--root-dir", "{run}", "--gin-param",
      "agents.DqnAgent.gamma=0.5"], "agents.DqnAgent.gamma: 1.0 -> 0.5"),
    (["train", "--config", "dqn_cartpole", "--root-dir", "{run}", "--actors", "1",
      "--gin-param", "agents.DqnAgent.gamma=0.5"], "started with another config"),
]


def _fill(args, tmp, run, file):
  return [a.format(tmp=tmp, run=run, file=file) for a in args]


@pytest.mark.parametrize("args, fragment", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input(capsys, smoke_run, tmp_path, args, fragment):
  root, _ = smoke_run
  a_file = tmp_path / "a_file"
  a_file.write_text("keep")
  before = snapshot(root)
  code, err = run_in_process(capsys, *_fill(args, tmp_path, root, a_file))
  assert_one_line_error(code, err, fragment)
  assert snapshot(root) == before
  assert not (tmp_path / "new").exists()
  assert a_file.read_text() == "keep"


def test_a_run_with_a_corrupt_run_json_is_refused_and_left_alone(capsys, smoke_run, tmp_path):
  root, _ = smoke_run
  copy = tmp_path / "run"
  shutil.copytree(root, copy)
  (copy / "run.json").write_text("{not json")
  before = snapshot(copy)
  code, err = run_in_process(capsys, "train", "--config", "dqn_cartpole", "--root-dir", str(copy))
  assert_one_line_error(code, err, "run.json is unreadable")
  assert snapshot(copy) == before


def test_a_dynamic_registration_config_is_refused(capsys, tmp_path):
  config = tmp_path / "dynamic.gin"
  config.write_text("from __gin__ import dynamic_registration\n"
                    "import rlrun.train.settings\n")
  code, err = run_in_process(capsys, "train", "--config", str(config), "--root-dir",
                             str(tmp_path / "new"))
  assert_one_line_error(code, err, "dynamic_registration")
  assert not (tmp_path / "new").exists()
