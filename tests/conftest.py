"""Shared fixtures: one short DQN CartPole run that several CLI tests read, a synthetic
study of run directories, and a built Experiment for the train tests."""

import contextlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for cli_helpers

from cli_helpers import gin, rlrun  # noqa: E402
from run_dirs import make_run  # noqa: E402

SMOKE_STEPS = 300
# The smoke run's bindings; rerunning with exactly these resumes (or says it finished).
SMOKE_ARGS = [*gin(f"train.Experiment.num_iterations={SMOKE_STEPS}"),
              *gin("train.Experiment.eval_interval=100"),
              *gin("train.Experiment.checkpoint_interval=100"),
              *gin("train.Experiment.policy_save_interval=150"),
              *gin("train.Experiment.summary_interval=50"),
              *gin("train.Experiment.num_eval_episodes=3"), "--seed", "3"]


@pytest.fixture(scope="module", autouse=True)
def fresh_gin_config():
  """Each test file starts and ends with an empty gin config.

  Tests that run rlrun in process (`cli.main`, `configs.parse`) leave the last config's
  bindings in gin; a worker that runs another file next (pytest-xdist hands whole files to
  workers in no fixed order) would build its networks with them, e.g. an Atari config's
  `channels_first = True` on a test's vector observations.
  """
  import gin
  gin.clear_config()
  yield
  gin.clear_config()


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
  """`rlrun train` for 300 steps with every interval shrunk; returns (root, result)."""
  root = tmp_path_factory.mktemp("runs") / "dqn"
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--root-dir", str(root), *SMOKE_ARGS)
  assert result.returncode == 0, result.stderr + result.stdout
  return root, result


@pytest.fixture
def study(tmp_path):
  """Synthetic run dirs (tests/run_dirs.py): 'a.gin' with 4 seeds and 'b.gin' with 2,
  evaluated at steps 0, 10 and 20."""
  a = [{0: 0.0, 10: 10.0 * s, 20: 100.0 + s} for s in range(4)]
  b = [{0: 5.0, 10: 50.0, 20: 60.0}, {0: 5.0, 10: 70.0, 20: 80.0}]
  for seed, returns in enumerate(a):
    make_run(tmp_path / "study" / f"a-seed{seed}", "a.gin", seed, returns,
             bindings=[f"train.Experiment.seed = {seed}", "tf.keras.optimizers.Adam."
                       f"learning_rate={'0.01' if seed % 2 else '0.001'}"],
             env_steps_per_step=4)
  for seed, returns in enumerate(b):
    make_run(tmp_path / "study" / "b" / f"seed{seed}", "b.gin", seed, returns)
  return tmp_path / "study"


@pytest.fixture
def built_experiment(tmp_path):
  """built_experiment(bindings, config='dqn_cartpole'): a context manager that parses the
  config with `bindings`, builds an Experiment in tmp_path/run, yields it and closes it
  (the train tests' shared setup)."""
  @contextlib.contextmanager
  def build(bindings, config: str = "dqn_cartpole"):
    from rlrun import configs
    from rlrun.train.experiment import Experiment
    configs.parse(configs.resolve(config), list(bindings))
    experiment = Experiment(root_dir=str(tmp_path / "run"))
    experiment.build()
    try:
      yield experiment
    finally:
      experiment.close()
  return build
