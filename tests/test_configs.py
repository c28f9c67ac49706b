"""Every shipped gin config parses, builds with no unused binding, and bindings take effect."""

from pathlib import Path

import pytest

from rlrun import configs
from rlrun.errors import UserError

SHIPPED = sorted(p.name for p in (Path(__file__).parent.parent / "gin_configs").glob("*.gin"))


def build(tmp_path, config, bindings=()):
  from rlrun.train.experiment import Experiment
  configs.parse(configs.resolve(config), list(bindings))
  experiment = Experiment(root_dir=str(tmp_path / "run"))
  experiment.build()
  return experiment


def test_the_installed_configs_are_the_repository_ones():
  assert SHIPPED and configs.shipped_configs() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_config_builds_with_every_binding_used(tmp_path, name):
  experiment = build(tmp_path, name)
  try:
    assert configs.unused_bindings() == []
    builder = experiment.parts.builder
    assert builder.sequence_length(experiment.agent) >= 2
  finally:
    experiment.close()


def test_a_binding_takes_effect(tmp_path):
  experiment = build(tmp_path, "dqn_cartpole", ["networks.QNetwork.fc_layer_params = (7,)",
                                                "agents.DqnAgent.gamma = 0.5"])
  try:
    kernels = [v.shape for v in experiment.agent.q_network.trainable_variables if v.shape.rank == 2]
    assert [tuple(k) for k in kernels] == [(4, 7), (7, 2)]
    assert experiment.agent._gamma == 0.5  # pylint: disable=protected-access
  finally:
    experiment.close()


def test_a_learning_rate_schedule_drives_the_optimizer_and_is_checkpointed(tmp_path):
  schedule = "tf.keras.optimizers.schedules.PolynomialDecay"
  bindings = [f"tf.keras.optimizers.Adam.learning_rate = @{schedule}()",
              f"{schedule}.initial_learning_rate = 1e-2", f"{schedule}.decay_steps = 10",
              f"{schedule}.end_learning_rate = 0.0", "train.Experiment.initial_collect_steps = 64"]
  experiment = build(tmp_path, "dqn_cartpole", bindings)
  try:
    experiment.initial_collect()
    optimizer = experiment.agent.optimizer
    experiment.learner.train(4)
    # Keras reports the rate the last step used: the 4th step's, 1e-2 * (1 - 3 / 10).
    assert int(optimizer.iterations) == 4
    assert float(optimizer.learning_rate) == pytest.approx(7e-3)
    experiment.save_checkpoint()
  finally:
    experiment.close()
  resumed = build(tmp_path, "dqn_cartpole", bindings)
  try:
    resumed.restore()
    resumed.learner.train(1)  # the 5th step: 1e-2 * (1 - 4 / 10)
    assert float(resumed.agent.optimizer.learning_rate) == pytest.approx(6e-3)
  finally:
    resumed.close()


def test_resolve_accepts_names_with_or_without_suffix_and_paths(tmp_path):
  assert configs.resolve("dqn_cartpole") == configs.resolve("dqn_cartpole.gin")
  own = tmp_path / "mine.gin"
  own.write_text("")
  assert configs.resolve(str(own)) == own.resolve()
  with pytest.raises(UserError, match="shipped configs: .*dqn_cartpole.gin"):
    configs.resolve("dqn_cartpol")


@pytest.mark.parametrize("config", SHIPPED)
def test_every_shipped_config_describes_itself(config):
  text = configs.description(configs.resolve(config))
  algorithm = config.split("_")[0].upper()
  assert text.startswith(algorithm + " on ") and "(" not in text and len(text) < 140, text


def test_configs_lists_shows_and_copies(capsys, tmp_path):
  from rlrun import cli
  for args in (["configs"], ["configs", "show", "td3_pendulum"],
               ["configs", "copy", "td3_pendulum", str(tmp_path)]):
    try:
      cli.main(args)
    except SystemExit as e:
      assert e.code in (0, None)
    out = capsys.readouterr().out
    if args == ["configs"]:
      lines = out.splitlines()
      assert [l.split()[0] for l in lines] == SHIPPED
      assert "td3_pendulum.gin            TD3 on Pendulum-v1 with RL Baselines3 Zoo's " \
             "hyperparameters" in lines
    elif args[1] == "show":
      assert out == configs.resolve("td3_pendulum").read_text()
  assert (tmp_path / "td3_pendulum.gin").read_text() == configs.resolve("td3_pendulum").read_text()


def test_references_to_plain_or_decorated_callables_in_user_modules(tmp_path, monkeypatch):
  """@module.name works for a plain function (registered on import) and for one the module
  decorates itself; a misspelt reference under a name gin knows never imports a module."""
  monkeypatch.chdir(tmp_path)
  (tmp_path / "plain_envs_for_configs.py").write_text(
      "import gym\n\ndef make(length=3):\n  return gym.make('CartPole-v0')\n")
  (tmp_path / "decorated_envs_for_configs.py").write_text(
      "import gin, gym\n\n@gin.configurable\ndef make(length=3):\n"
      "  return gym.make('CartPole-v0')\n")
  (tmp_path / "train.py").write_text("raise RuntimeError('a user module named train ran')\n")
  config = tmp_path / "c.gin"
  config.write_text("train.Experiment.env_fn = @plain_envs_for_configs.make\n"
                    "plain_envs_for_configs.make.length = 5\n")
  configs.parse(config, [])
  import gin
  assert str(gin.query_parameter("train.Experiment.env_fn")) == "@plain_envs_for_configs.make"
  assert gin.query_parameter("plain_envs_for_configs.make.length") == 5
  config.write_text("import decorated_envs_for_configs\n"
                    "train.Experiment.env_fn = @decorated_envs_for_configs.make\n")
  configs.parse(config, [])
  config.write_text("train.Experiment.env_fn = @train.Experimnt\n")
  with pytest.raises(UserError, match="Experimnt"):
    configs.parse(config, [])
  gin.clear_config()
