"""AgentParts' environments: every episode ends, whatever the environment sets."""

import numpy as np

from rlrun.environments import episode_limits, py_environment
from rlrun.environments.wrappers import TimeLimit
from rlrun.specs import array_spec
from rlrun.train import parts
from rlrun.trajectories import restart, transition


class EndlessEnv(py_environment.PyEnvironment):
  """Never terminates."""

  def observation_spec(self):
    return array_spec.ArraySpec((), np.float32)

  def action_spec(self):
    return array_spec.BoundedArraySpec((), np.int64, 0, 1)

  def _reset(self):
    return restart(np.float32(0))

  def _step(self, action):
    return transition(np.float32(0), reward=1.0)


def episode_length(env) -> int:
  time_step, steps = env.reset(), 0
  while not time_step.is_last():
    time_step = env.step(np.int64(0))
    steps += 1
  return steps


def test_an_endless_environment_gets_the_default_limit_and_one_warning(capsys, monkeypatch):
  monkeypatch.setattr(episode_limits, "_warned_unlimited", False)
  monkeypatch.setattr(episode_limits, "DEFAULT_EPISODE_STEPS", 30)
  first, second = parts.limit_episodes(EndlessEnv()), parts.limit_episodes(EndlessEnv())
  assert episode_length(first) == episode_length(second) == 30
  warnings = capsys.readouterr().err.splitlines()
  assert warnings == ["rlrun: warning: the environment sets no episode step limit; using 30 "
                      "(set train.Experiment.max_episode_steps)"]


def test_a_configured_limit_caps_and_an_own_limit_is_kept(capsys):
  assert episode_length(parts.limit_episodes(EndlessEnv(), 7)) == 7
  own = TimeLimit(EndlessEnv(), 12)
  assert parts.limit_episodes(own) is own
  assert episode_length(parts.limit_episodes(TimeLimit(EndlessEnv(), 12), 5)) == 5
  assert capsys.readouterr().err == ""


def test_parallel_collect_envs_are_seeded_apart_and_match_in_processes_or_not():
  import gin
  from rlrun import configs
  from rlrun.builders.on_policy import PpoBuilder
  from rlrun.environments import suite_gym
  from rlrun.train.settings import Settings
  configs.import_configurables()
  gin.parse_config("suite_gym.load.environment_name = 'CartPole-v1'")
  try:
    observations = {}
    for in_processes in (False, True):
      settings = Settings(env_fn=suite_gym.load, builder=PpoBuilder(), seed=3,
                          collect_parallel_envs=3, collect_envs_in_processes=in_processes)
      env = parts.make_collect_env(settings)
      try:
        assert env.batched and env.batch_size == 3
        observations[in_processes] = np.asarray(env.reset().observation)
        next_step = env.step(np.array([0, 1, 0], np.int64))
        assert np.asarray(next_step.observation).shape == (3, 4)
      finally:
        env.close()
    assert len({tuple(row) for row in observations[False]}) == 3  # three different starts
    np.testing.assert_array_equal(observations[False], observations[True])
  finally:
    gin.clear_config()


def test_no_two_runs_of_a_study_share_an_environment():
  import gin
  from rlrun import configs
  from rlrun.builders.off_policy import DqnBuilder
  from rlrun.environments import suite_gym
  from rlrun.train.settings import Settings
  indices = [0, parts.COLLECT_ENV_SEED_STRIDE, parts.ACTOR_ENV_OFFSET] + [
      parts.EVAL_ENV_OFFSET + i for i in range(10)]
  seeds = [parts.env_seed(seed, index) for seed in range(5) for index in indices]
  assert len(set(seeds)) == len(seeds)
  # Where seed + index would give run 1's evaluation env 0 run 0's env 1, they start apart.
  configs.import_configurables()
  gin.parse_config("suite_gym.load.environment_name = 'CartPole-v1'")
  try:
    starts = [np.asarray(parts.make_env(Settings(env_fn=suite_gym.load, builder=DqnBuilder(),
                                                 seed=seed), index).reset().observation)
              for seed, index in ((0, parts.EVAL_ENV_OFFSET + 1), (1, parts.EVAL_ENV_OFFSET))]
    assert np.any(starts[0] != starts[1])
  finally:
    gin.clear_config()


class RandomDrawingEnv(EndlessEnv):
  """Draws from the global generators on every reset and step, as some envs do."""

  def _reset(self):
    np.random.random(), __import__("random").random()
    return super()._reset()

  def _step(self, action):
    np.random.random(), __import__("random").random()
    return super()._step(action)


def test_the_check_before_a_run_leaves_the_global_random_numbers_as_seeded():
  import random
  import types
  settings = types.SimpleNamespace(env_fn=RandomDrawingEnv, max_episode_steps=10, seed=0)
  np.random.seed(3), random.seed(3)
  expected = np.random.random(), random.random()
  np.random.seed(3), random.seed(3)
  parts.check_env_outputs(settings)
  assert (np.random.random(), random.random()) == expected


def test_only_values_json_gives_back_are_recorded_for_eval():
  import gin
  from rlrun import configs
  from rlrun.environments import suite_gymnasium
  configs.import_configurables()
  with gin.unlock_config():
    gin.bind_parameter("suite_gymnasium.load.environment_name", "CartPole-v1")
    gin.bind_parameter("suite_gymnasium.load.gym_kwargs", {"sizes": [1, 2], "mode": "x"})
  try:
    assert parts.env_loader(suite_gymnasium.load)["env_kwargs"]["gym_kwargs"] == {
        "sizes": [1, 2], "mode": "x"}
    with gin.unlock_config():
      gin.bind_parameter("suite_gymnasium.load.gym_kwargs", {"size": (8, 8)})  # a tuple
    assert parts.env_loader(suite_gymnasium.load) == {}
    assert parts.env_suite(suite_gymnasium.load) == "gymnasium"
    assert parts.env_suite(RandomDrawingEnv) == "custom"
  finally:
    gin.clear_config()
