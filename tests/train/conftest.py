"""Shared by the tests of rlrun/train: a built Experiment of a shipped config."""

import contextlib

import pytest

from rlrun import configs


@pytest.fixture
def built_experiment(tmp_path):
  """built_experiment(bindings, config='dqn_cartpole'): a context manager that parses the
  config with `bindings`, builds an Experiment in tmp_path/run, yields it and closes it."""
  @contextlib.contextmanager
  def build(bindings, config: str = "dqn_cartpole"):
    from rlrun.train.experiment import Experiment
    configs.parse(configs.resolve(config), list(bindings))
    experiment = Experiment(root_dir=str(tmp_path / "run"))
    experiment.build()
    try:
      yield experiment
    finally:
      experiment.close()
  return build
