"""tf.distribute strategies: choosing one, and training under MirroredStrategy.

The mirrored checks need two logical CPU devices, which TensorFlow only accepts
before it initialises, so they run together in one fresh subprocess (`check_*` below,
started by the `mirrored_checks` fixture); each test then reports one check's result.
"""

import json
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from rlrun.train import strategies
from rlrun.utils import losses

DEVICES = ("/cpu:0", "/cpu:1")
MIRRORED = ["train.Experiment.strategy = 'mirrored'",
            f"train.make_strategy.devices = {DEVICES!r}"]
SHORT_RUN = ["train.Experiment.eval_interval = 0", "train.Experiment.num_eval_episodes = 1",
             "train.Experiment.eval_parallel_envs = 1",
             "train.Experiment.initial_collect_steps = 40",
             "train.Experiment.iterations_per_call = 4"]

# Run by the subprocess: two logical CPUs, then this module's checks.
_CHILD = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
import test_strategies
test_strategies.run_checks(sys.argv[2])
"""


# ---- in this process --------------------------------------------------------------------

def test_default_strategy_is_tensorflows_default():
  strategy = strategies.make_strategy("default")
  assert strategy is tf.distribute.get_strategy()
  assert strategies.is_default(strategy) and strategies.is_default(None)


@pytest.mark.parametrize("cuda_build, fragments", [
    (False, ["tensorflow-cpu", "pip install 'tensorflow[and-cuda]=="]),
    (True, ["CUDA build", "nvidia-smi"]),
])
def test_mirrored_without_a_gpu_says_what_to_do(monkeypatch, cuda_build, fragments):
  monkeypatch.setattr(tf.config, "list_physical_devices", lambda device_type=None: [])
  monkeypatch.setattr(tf.test, "is_built_with_cuda", lambda: cuda_build)
  with pytest.raises(ValueError) as error:
    strategies.make_strategy("mirrored")
  message = str(error.value).splitlines()[0]  # gin appends the configurable's name.
  for fragment in ["no GPU is visible to TensorFlow", "(--gpu)"] + fragments:
    assert fragment in message


@pytest.mark.parametrize("name, devices, fragment", [
    ("mirored", None, "unknown strategy 'mirored'"),
    ("default", ("/cpu:0",), "only applies to train.Experiment.strategy='mirrored'"),
    ("mirrored", (), "devices is empty"),
])
def test_bad_strategy_arguments(name, devices, fragment):
  with pytest.raises(ValueError, match=fragment.replace("[", r"\[")):
    strategies.make_strategy(name, devices=devices)


def test_scale_for_replicas_is_the_identity_under_the_default_strategy():
  loss = tf.constant(3.0)
  assert losses.scale_for_replicas(loss) is loss


# ---- in the subprocess ------------------------------------------------------------------

def _mirrored_experiment(tmp_path: Path, config: str, bindings, build: bool = True):
  from rlrun import configs
  from rlrun.train.experiment import Experiment
  configs.parse(configs.resolve(config), MIRRORED + SHORT_RUN + list(bindings))
  experiment = Experiment(root_dir=str(tmp_path / config))
  if build:
    experiment.build()
  return experiment


def _assert_replicas_identical(variables) -> None:
  assert variables
  for variable in variables:
    copies = [v.numpy() for v in variable.values]
    assert len(copies) == len(DEVICES), variable.name
    for copy in copies[1:]:
      np.testing.assert_array_equal(copies[0], copy, err_msg=variable.name)


def check_dqn_experiment_trains(tmp_path: Path) -> None:
  experiment = _mirrored_experiment(tmp_path, "dqn_cartpole.gin",
                                    ["train.Experiment.batch_size = 16"])
  try:
    assert experiment.strategy.num_replicas_in_sync == 2
    experiment.initial_collect()
    loss = experiment.learner.run(iterations=6)  # Two calls: 4 steps, then 2.
    assert np.isfinite(loss.loss.numpy()) and loss.loss.shape == ()
    assert loss.extra.td_error.shape == (16,)
    assert experiment.train_step.numpy() == 6
    agent = experiment.agent
    _assert_replicas_identical(agent.q_network.variables + agent.target_q_network.variables +
                               agent.optimizer.variables + [experiment.train_step])
    # Checkpoints and SavedModels hold one copy, and restore into every replica's.
    experiment.parts.sync_iteration()
    experiment.save_checkpoint()
    experiment.policy_trigger.save()
    experiment.train_step.assign(0)
    assert experiment.checkpointer.restore()[0] == 6
    _assert_replicas_identical([experiment.train_step])
    assert experiment.train_step.numpy() == 6
    assert (tmp_path / "dqn_cartpole.gin" / "policies" / "policy" / "saved_model.pb").exists()
  finally:
    experiment.close()


def check_sac_experiment_trains(tmp_path: Path) -> None:
  experiment = _mirrored_experiment(tmp_path, "sac_pendulum.gin", [
      "train.Experiment.batch_size = 16",
      "networks.CriticNetwork.joint_fc_layer_params = (16,)",
      "networks.ActorDistributionNetwork.fc_layer_params = (16,)"])
  try:
    experiment.initial_collect()
    loss = experiment.learner.run(iterations=3)
    for value in (loss.loss, loss.extra.critic_loss, loss.extra.actor_loss, loss.extra.alpha_loss):
      assert np.isfinite(value.numpy())
    assert experiment.train_step.numpy() == 3
    agent = experiment.agent
    networks = (agent.actor_network,) + agent.critic_networks + agent.target_critic_networks
    _assert_replicas_identical([v for n in networks for v in n.variables] + [agent.log_alpha])
    assert agent.log_alpha.numpy() != 0.0  # The alpha optimizer stepped.
  finally:
    experiment.close()


def check_mirrored_rejections(tmp_path: Path) -> None:
  for bindings, fragment in ((["train.Experiment.batch_size = 7"],
                              "batch_size=7 is not divisible by the 2 replicas"),
                             (["replay.make_table.sampler = 'prioritized'"],
                              "prioritized replay is not supported")):
    experiment = _mirrored_experiment(tmp_path, "dqn_cartpole.gin", bindings, build=False)
    try:
      experiment.build()
    except ValueError as e:
      assert fragment in str(e), e
    else:
      raise AssertionError(f"{bindings} was accepted")
    finally:
      experiment.close()


def _dqn_agent(strategy, clip):
  """A small CartPole DqnAgent built under `strategy`, with SGD and soft target updates."""
  import gin
  from rlrun.agents.dqn_agent import DqnAgent
  from rlrun.environments import suite_gym
  from rlrun.networks.q_network import QNetwork
  gin.clear_config()
  env = suite_gym.load("CartPole-v0")
  with strategy.scope():
    step = tf.Variable(0, dtype=tf.int64, aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    network = QNetwork(env.observation_spec(), env.action_spec(), fc_layer_params=(8,))
    # SGD: the update is proportional to the gradient, so a wrong scale shows.
    agent = DqnAgent(env.time_step_spec(), env.action_spec(), network,
                     tf.keras.optimizers.SGD(0.5), target_update_tau=0.5, target_update_period=2,
                     gradient_clipping=clip, train_step_counter=step)
    agent.initialize()
  env.close()
  return agent


def _weights(agent):
  return agent.q_network.variables + agent.target_q_network.variables


def _two_steps(tmp_path: Path, strategy, batch, initial, clip):
  """The q and target weights after 2 train steps on `batch`, from `initial` weights."""
  from rlrun.train.learner import Learner
  agent = _dqn_agent(strategy, clip)
  for variable, value in zip(_weights(agent), initial):
    variable.assign(value)
  dataset_fn = lambda: tf.data.Dataset.from_tensor_slices(batch).batch(  # noqa: E731
      int(batch.reward.shape[0]), drop_remainder=True).repeat()
  learner = Learner(str(tmp_path), agent.train_step_counter, agent, dataset_fn,
                    strategy=strategy)
  learner.run(iterations=2)  # The target moves (period 2) after the second step.
  assert agent.train_step_counter.numpy() == 2
  return [v.numpy() for v in _weights(agent)]


def check_an_update_matches_the_default_strategy(tmp_path: Path) -> None:
  from rlrun.specs import tensor_spec
  default = strategies.make_strategy("default")
  mirrored = strategies.make_strategy("mirrored", devices=DEVICES)
  reference = _dqn_agent(default, None)
  initial = [v.numpy() for v in _weights(reference)]
  batch = tensor_spec.sample_spec_nest(reference.collect_data_spec, outer_dims=(16, 2),
                                       seed=(1, 2))
  # Without clipping the scale of the summed gradients shows; a clip of 1e-3 is always
  # active, and must apply to the sum of the replicas' gradients, not to each.
  for clip in (None, 1e-3):
    on_default = _two_steps(tmp_path / "default", default, batch, initial, clip)
    on_mirrored = _two_steps(tmp_path / "mirrored", mirrored, batch, initial, clip)
    moved = max(np.abs(a - w).max() for a, w in zip(on_default, initial))
    assert moved > 1e-5, f"clip={clip}: the update barely moved the weights ({moved})"
    # Compare the updates, not the weights: a small update must not hide in atol.
    for a, b, w in zip(on_default, on_mirrored, initial):
      np.testing.assert_allclose(b - w, a - w, rtol=1e-4, atol=1e-4 * moved,
                                 err_msg=f"clip={clip}")


CHECKS = sorted(name for name in dict(globals()) if name.startswith("check_"))


def run_checks(work_dir: str) -> None:
  """Runs every check in `work_dir`; writes {name: 'ok' or its traceback} to results.json."""
  results = {}
  for name in CHECKS:
    try:
      globals()[name](Path(work_dir) / name)
      results[name] = "ok"
    except Exception:  # pylint: disable=broad-except
      results[name] = traceback.format_exc()
  (Path(work_dir) / "results.json").write_text(json.dumps(results))


@pytest.fixture(scope="module")
def mirrored_checks(tmp_path_factory):
  work_dir = tmp_path_factory.mktemp("strategies")
  child = subprocess.run([sys.executable, "-c", _CHILD, str(Path(__file__).parent),
                          str(work_dir)], capture_output=True, text=True, timeout=600,
                         cwd=work_dir)  # Not the checkout: import rlrun as installed.
  results = work_dir / "results.json"
  assert child.returncode == 0 and results.exists(), child.stderr[-5000:]
  return json.loads(results.read_text())


@pytest.mark.parametrize("check", CHECKS)
def test_mirrored_strategy_over_two_cpus(mirrored_checks, check):
  assert mirrored_checks[check] == "ok", mirrored_checks[check]
