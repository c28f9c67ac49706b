"""Shared fixtures: one short DQN CartPole run that several CLI tests read."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for cli_helpers

from cli_helpers import gin, rlrun  # noqa: E402

SMOKE_STEPS = 300
# The smoke run's bindings; rerunning with exactly these resumes (or says it finished).
SMOKE_ARGS = [*gin(f"train.Experiment.num_iterations={SMOKE_STEPS}"),
              *gin("train.Experiment.eval_interval=100"),
              *gin("train.Experiment.checkpoint_interval=100"),
              *gin("train.Experiment.policy_save_interval=150"),
              *gin("train.Experiment.summary_interval=50"),
              *gin("train.Experiment.num_eval_episodes=3"), "--seed", "3"]


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
  """`rlrun train` for 300 steps with every interval shrunk; returns (root, result)."""
  root = tmp_path_factory.mktemp("runs") / "dqn"
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--root-dir", str(root), *SMOKE_ARGS)
  assert result.returncode == 0, result.stderr + result.stdout
  return root, result
