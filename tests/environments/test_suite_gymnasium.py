"""suite_gymnasium and GymnasiumWrapper: termination vs truncation, seeding, spaces, module
ids, and plain env objects made PyEnvironments."""

import sys

import gymnasium
import numpy as np
import pytest

from rlrun.environments import suite_gymnasium, wrappers
from rlrun.environments.gymnasium_wrapper import GymnasiumWrapper
from rlrun.environments.plain_envs import to_py_environment
from rlrun.trajectories.time_step import StepType

spaces = gymnasium.spaces


class _Toy(gymnasium.Env):
  """Ends by termination after `length` steps, or says truncated at step `truncate_at`."""

  def __init__(self, length=3, truncate_at=None, observation_space=None, action_space=None,
               bad_shape=False):
    self.length, self.truncate_at, self.bad_shape = length, truncate_at, bad_shape
    self.observation_space = observation_space or spaces.Box(-1.0, 1.0, (2,), np.float64)
    self.action_space = action_space or spaces.Discrete(3, start=-1)
    self.received, self.reset_seeds, self._t = [], [], 0

  def reset(self, seed=None, options=None):
    super().reset(seed=seed)
    self.reset_seeds.append(seed)
    self._t = 0
    return self.observation_space.sample(), {}

  def step(self, action):
    self.received.append(action)
    self._t += 1
    observation = np.zeros(3) if self.bad_shape else self.observation_space.sample()
    return (observation, 1.5, self._t >= self.length, self._t == self.truncate_at,
            {"t": self._t})


def _episode(env, action):
  steps = [env.reset()]
  while not steps[-1].is_last():
    steps.append(env.step(action))
  return steps


def test_termination_ends_with_discount_0_and_truncation_keeps_it():
  terminated = _episode(GymnasiumWrapper(_Toy(length=3)), np.int64(1))
  assert [int(t.step_type) for t in terminated] == [StepType.FIRST, StepType.MID, StepType.MID,
                                                    StepType.LAST]
  assert terminated[-1].discount == 0.0 and terminated[-1].reward == np.float32(1.5)
  truncated = _episode(GymnasiumWrapper(_Toy(length=5, truncate_at=2), discount=0.9),
                       np.int64(0))
  assert len(truncated) == 3 and truncated[-1].discount == np.float32(0.9)


def test_spaces_become_specs_and_actions_go_back_as_the_env_expects():
  toy = _Toy(observation_space=spaces.Dict({
      "pos": spaces.Box(0, 1, (2,), np.float32), "flags": spaces.MultiBinary(3),
      "pair": spaces.Tuple((spaces.Discrete(4), spaces.MultiDiscrete([2, 5])))}),
             action_space=spaces.Discrete(3, start=-1))
  env = GymnasiumWrapper(toy)
  spec = env.observation_spec()
  assert spec["pos"].dtype == np.float32 and spec["flags"].dtype == np.int8
  assert spec["pair"][0].maximum == 3 and list(spec["pair"][1].maximum) == [1, 4]
  assert (env.action_spec().minimum, env.action_spec().maximum) == (-1, 1)
  time_step = env.reset()
  assert time_step.observation["pair"][1].dtype == np.int64
  env.step(np.int64(-1))
  assert toy.received == [-1] and isinstance(toy.received[0], int)


def test_seeding_repeats_episodes_and_the_registered_limit_is_a_truncation():
  def observations(seed):
    env = suite_gymnasium.load("CartPole-v1", seed=seed)
    return np.stack([t.observation for t in _episode(env, np.int64(1))])

  assert np.array_equal(observations(3), observations(3))
  assert not np.array_equal(observations(3), observations(4))
  pendulum = suite_gymnasium.load("Pendulum-v1", seed=0)
  assert isinstance(pendulum, wrappers.TimeLimit)  # gymnasium's own TimeLimit replaced
  steps = _episode(pendulum, np.array([0.0], np.float32))
  assert len(steps) == 201 and steps[-1].discount == 1.0
  assert pendulum.render().shape == (500, 500, 3)
  short = suite_gymnasium.load("Pendulum-v1", max_episode_steps=7)
  assert len(_episode(short, np.array([0.0], np.float32))) == 8


def test_unknown_ids_modules_and_shapes_are_named(tmp_path, monkeypatch):
  with pytest.raises(ValueError, match="unknown Gymnasium environment id 'CartPol-v1'.*CartPole"):
    suite_gymnasium.load("CartPol-v1")
  monkeypatch.chdir(tmp_path)
  with pytest.raises(ValueError, match="cannot import module 'no_such_envs'.*" +
                     str(tmp_path).replace("/", ".")):
    suite_gymnasium.load("no_such_envs:Foo-v0")
  (tmp_path / "toy_envs_for_rlrun.py").write_text(
      "import gymnasium\n"
      "gymnasium.register('ToyRlrun-v0', entry_point='gymnasium.envs.classic_control:"
      "CartPoleEnv', max_episode_steps=9)\n")
  monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
  env = suite_gymnasium.load("toy_envs_for_rlrun:ToyRlrun-v0", seed=1)
  assert len(_episode(env, np.int64(0))) <= 10
  bad = GymnasiumWrapper(_Toy(bad_shape=True))
  bad.reset()
  with pytest.raises(ValueError, match=r"observation of shape \(3,\).*declares \(2,\)"):
    bad.step(np.int64(0))


def test_plain_envs_are_wrapped_with_their_own_time_limit():
  made = gymnasium.make("CartPole-v1")
  env = to_py_environment(made)
  assert isinstance(env, wrappers.TimeLimit) and isinstance(env._env, GymnasiumWrapper)
  assert env._duration == 500
  raw = to_py_environment(_Toy(length=2))
  assert isinstance(raw, GymnasiumWrapper)
  assert to_py_environment(env) is env
  with pytest.raises(TypeError, match="returned a dict, not an environment"):
    to_py_environment({})
