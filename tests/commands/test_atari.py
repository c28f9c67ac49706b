"""Atari from the command line: a short dqn_atari100k.gin run on Pong trains, evaluates, resumes
its replay and films, also with two collecting actors; and the mistakes an Atari config can
make."""

import json
import sys

import numpy as np
import pytest

from cli_helpers import gin, rlrun
from test_user_errors import assert_one_line_error, run_in_process

# 100 train steps after 64 random ones; episodes cut at 60 agent steps so evaluation is quick.
SHORT = [*gin("train.Experiment.num_iterations=100"),
         *gin("train.Experiment.initial_collect_steps=64"),
         *gin("train.Experiment.eval_interval=50"),
         *gin("train.Experiment.checkpoint_interval=50"),
         *gin("train.Experiment.policy_save_interval=100"),
         *gin("train.Experiment.log_interval=25"),
         *gin("train.Experiment.num_eval_episodes=1"),
         *gin("suite_atari.load.max_episode_steps=60")]


@pytest.fixture(scope="module")
def pong_run(tmp_path_factory):
  root = tmp_path_factory.mktemp("atari") / "pong"
  result = rlrun("train", "--config", "dqn_atari100k.gin", "--root-dir", str(root), *SHORT)
  assert result.returncode == 0, result.stderr + result.stdout
  return root, result


def _evals(root):
  return [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]


def test_a_short_pong_run_trains_and_evaluates(pong_run):
  root, result = pong_run
  assert "step 100/100" in result.stdout
  evals = _evals(root)
  assert [e["step"] for e in evals] == [0, 50, 100]
  # An episode is cut at 60 agent steps; Pong scores in [-21, 21].
  assert all(e["AverageEpisodeLength"] == 60 and -21 <= e["AverageReturn"] <= 21 for e in evals)
  assert (root / "policies" / "greedy_policy").is_dir() or (root / "policies" / "policy").is_dir()


def test_eval_and_record_video_rebuild_the_game(pong_run, tmp_path):
  root, _ = pong_run
  evaluated = rlrun("eval", "--root-dir", str(root), "--episodes", "1", "--json")
  assert evaluated.returncode == 0, evaluated.stderr
  returns = json.loads(evaluated.stdout)["Returns"]
  assert len(returns) == 1 and -21 <= returns[0] <= 21
  video = tmp_path / "pong.mp4"
  filmed = rlrun("record-video", "--root-dir", str(root), "--episodes", "1", "--output", str(video))
  assert filmed.returncode == 0, filmed.stderr
  assert video.stat().st_size > 1000


def test_the_saved_policy_takes_uint8_frames(pong_run):
  import tensorflow as tf
  root, _ = pong_run
  action = tf.saved_model.load(str(root / "policies" / "policy")).signatures["action"]
  frames = np.random.default_rng(0).integers(0, 256, (3, 4, 84, 84)).astype(np.uint8)
  actions = action(step_type=tf.zeros([3], tf.int32), reward=tf.zeros([3]),
                   discount=tf.ones([3]), observation=tf.constant(frames))["action"].numpy()
  assert actions.shape == (3,) and ((0 <= actions) & (actions <= 5)).all()


def test_a_rerun_with_more_iterations_resumes_with_its_replay(pong_run, tmp_path):
  root, _ = pong_run
  copy = tmp_path / "pong"
  import shutil
  shutil.copytree(root, copy)
  more = [a.replace("num_iterations=100", "num_iterations=130") for a in SHORT]
  result = rlrun("train", "--config", "dqn_atari100k.gin", "--root-dir", str(copy), *more)
  assert result.returncode == 0, result.stderr
  assert "resum" in (result.stdout + result.stderr).lower()
  assert "step 130/130" in result.stdout


@pytest.mark.parametrize("binding, message", [
    ("GAME='Pongg'", r"unknown Atari game 'Pongg'; close matches: Pong"),
    ("builders.DqnBuilder.frame_stack=3", r"frame_stack = 3 needs an observation whose first "
                                          r"axis holds 3 frames"),
    ("suite_atari.load.sticky_action_probability=1.5", r"sticky_action_probability must be in"),
])
def test_atari_config_mistakes_are_one_line(capsys, tmp_path, binding, message):
  code, err = run_in_process(capsys, "train", "--config", "dqn_atari100k.gin", "--root-dir",
                             str(tmp_path / "run"), *gin(binding))
  assert_one_line_error(code, err, message)
  assert not (tmp_path / "run").exists()


def test_two_actors_collect_frames_for_one_learner(tmp_path):
  root = tmp_path / "actors"
  result = rlrun("train", "--config", "dqn_atari100k.gin", "--root-dir", str(root),
                 "--actors", "2", *SHORT)
  assert result.returncode == 0, result.stderr + result.stdout
  evals = _evals(root)
  assert [e["step"] for e in evals][-1] == 100 and evals[-1]["env_steps"] > 64
  assert all(e["AverageEpisodeLength"] == 60 for e in evals)


def test_without_ale_py_train_says_how_to_install_it(capsys, tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, "ale_py", None)  # import ale_py raises ImportError
  code, err = run_in_process(capsys, "train", "--config", "dqn_atari100k.gin", "--root-dir",
                             str(tmp_path / "run"))
  assert_one_line_error(code, err, "Atari games need the ale-py package", "pip install")
  assert not (tmp_path / "run").exists()
