"""Tests for GymWrapper and spec_from_gym_space (with small in-test gym envs)."""

import numpy as np
import pytest

from rlrun.environments import gym_wrapper
from rlrun.specs import array_spec
from rlrun.trajectories.time_step import StepType

gym = gym_wrapper.gym
spaces = gym.spaces


class _ToyEnv(gym.Env):
  """float64 Box observations, Discrete actions; done after `length` steps."""

  def __init__(self, length=3, action_space=None, observation_space=None):
    self.length = length
    self.observation_space = observation_space or spaces.Box(-1.0, 1.0, (2,), np.float64)
    self.action_space = action_space or spaces.Discrete(2)
    self.received = []
    self.reset_seeds = []
    self.closed = False
    self._t = 0

  def reset(self, *, seed=None, return_info=False, options=None):
    self.reset_seeds.append(seed)
    self._t = 0
    return self._observation()

  def _observation(self):
    if isinstance(self.observation_space, spaces.Box):
      return np.full(self.observation_space.shape, 0.5, np.float64)
    return self.observation_space.sample()

  def step(self, action):
    self.received.append(action)
    self._t += 1
    return self._observation(), 2.0, self._t >= self.length, {"t": self._t}

  def render(self, mode="human"):
    return np.zeros((4, 5, 3), np.uint8) if mode == "rgb_array" else None

  def close(self):
    self.closed = True


def test_discrete_and_box_specs():
  env = gym_wrapper.GymWrapper(_ToyEnv())
  obs_spec, action_spec = env.observation_spec(), env.action_spec()
  assert action_spec == array_spec.BoundedArraySpec((), np.int64, 0, 1)
  assert action_spec.name == "action"
  assert obs_spec.dtype == np.float32 and obs_spec.shape == (2,)
  assert obs_spec.name == "observation"
  assert float(obs_spec.minimum) == -1.0 and float(obs_spec.maximum) == 1.0


def test_observations_cast_to_spec_dtype_and_action_converted():
  gym_env = _ToyEnv()
  env = gym_wrapper.GymWrapper(gym_env)
  first = env.reset()
  assert first.observation.dtype == np.float32
  assert int(first.step_type) == StepType.FIRST
  step = env.step(np.array(1, np.int64))
  assert step.observation.dtype == np.float32
  assert step.reward.dtype == np.float32 and float(step.reward) == 2.0
  assert type(gym_env.received[-1]) is int and gym_env.received[-1] == 1
  assert env.get_info() == {"t": 1}
  with pytest.raises(ValueError, match="scalar"):
    env.step(np.array([0, 1]))


def test_done_is_termination_and_auto_reset():
  env = gym_wrapper.GymWrapper(_ToyEnv(length=2), discount=0.9)
  env.reset()
  mid = env.step(np.int64(0))
  last = env.step(np.int64(0))
  assert int(mid.step_type) == StepType.MID
  assert float(mid.discount) == pytest.approx(0.9)
  assert int(last.step_type) == StepType.LAST and float(last.discount) == 0.0
  assert int(env.step(np.int64(0)).step_type) == StepType.FIRST


def test_gym_time_limit_truncation_keeps_discount():
  env = gym_wrapper.GymWrapper(gym.wrappers.TimeLimit(_ToyEnv(length=10), max_episode_steps=2))
  env.reset()
  env.step(np.int64(0))
  last = env.step(np.int64(0))
  assert int(last.step_type) == StepType.LAST
  assert float(last.discount) == 1.0


def test_nested_spaces():
  obs_space = spaces.Dict({
      "pos": spaces.Box(-2.0, 2.0, (3,), np.float64),
      "grid": spaces.MultiDiscrete([3, 4]),
      "pair": spaces.Tuple((spaces.Discrete(5), spaces.MultiBinary(2))),
  })
  action_space = spaces.Tuple((spaces.Discrete(3), spaces.Box(0.0, 1.0, (2,), np.float32)))
  gym_env = _ToyEnv(observation_space=obs_space, action_space=action_space)
  env = gym_wrapper.GymWrapper(gym_env)
  spec = env.observation_spec()
  assert set(spec) == {"pos", "grid", "pair"}
  assert spec["pos"].dtype == np.float32 and spec["pos"].name == "pos"
  assert spec["grid"].dtype == np.int64
  np.testing.assert_array_equal(spec["grid"].maximum, [2, 3])
  assert spec["pair"][0] == array_spec.BoundedArraySpec((), np.int64, 0, 4)
  assert spec["pair"][1].shape == (2,) and spec["pair"][1].dtype == np.int8
  assert isinstance(env.action_spec(), tuple) and len(env.action_spec()) == 2
  time_step = env.reset()
  assert array_spec.check_arrays_nest(time_step.observation, spec)
  env.step((np.int64(2), np.array([0.5, 0.25], np.float32)))
  sent = gym_env.received[-1]
  assert sent[0] == 2 and type(sent[0]) is int
  assert sent[1].dtype == np.float32


def test_spec_dtype_map_overrides_defaults():
  env = gym_wrapper.GymWrapper(_ToyEnv(), spec_dtype_map={spaces.Box: np.float64,
                                                         spaces.Discrete: np.int32})
  assert env.observation_spec().dtype == np.float64
  assert env.action_spec().dtype == np.int32
  assert env.reset().observation.dtype == np.float64
  with pytest.raises(TypeError, match="spec_dtype_map"):
    gym_wrapper.GymWrapper(_ToyEnv(), spec_dtype_map=[np.float64])


def test_bad_discount_and_unsupported_space():
  with pytest.raises(ValueError, match="discount"):
    gym_wrapper.GymWrapper(_ToyEnv(), discount=1.5)
  with pytest.raises(ValueError, match="unsupported gym space"):
    gym_wrapper.spec_from_gym_space(spaces.Space(), name="observation")


def test_seed_applies_to_next_reset_and_spaces():
  gym_env = _ToyEnv()
  env = gym_wrapper.GymWrapper(gym_env)
  env.seed(3)
  env.reset()
  env.reset()
  assert gym_env.reset_seeds == [3, None]
  samples = gym_env.action_space.sample()
  env.seed(3)
  assert gym_env.action_space.sample() == samples


def test_render_close_and_gym_property():
  gym_env = _ToyEnv()
  env = gym_wrapper.GymWrapper(gym_env)
  assert env.gym is gym_env
  assert env.length == 3  # attribute fallthrough to the gym env
  env.reset()
  assert env.render().shape == (4, 5, 3)
  env.close()
  assert gym_env.closed


def test_observations_are_cast_only_when_their_values_survive():
  from rlrun.environments.gym_wrapper import to_spec_dtypes
  box = array_spec.BoundedArraySpec((2,), np.float32, -1, 1, name="observation")
  frame = array_spec.BoundedArraySpec((2,), np.uint8, 0, 255, name="frame")
  cast = to_spec_dtypes(np.array([0.1, 0.2]), box)  # float64 rounds to float32, as gym's do
  assert cast.dtype == np.float32 and np.allclose(cast, [0.1, 0.2])
  assert to_spec_dtypes([True, False], box).tolist() == [1.0, 0.0]
  assert to_spec_dtypes(np.array([3, 255]), frame).dtype == np.uint8
  assert to_spec_dtypes([1.0, 0.0], frame).tolist() == [1, 0]  # whole floats keep their value
  for value, bad in (([300, 1], "300"), ([0.5, 1], "0.5"), ([-1, 2], "-1")):
    with pytest.raises(ValueError, match=f"returned frame holding {bad}, which its space's "
                                         "dtype uint8 cannot hold"):
      to_spec_dtypes(value, frame)
  with pytest.raises(ValueError, match="holding 'a', which its space's dtype float32"):
    to_spec_dtypes(["a", "b"], box)
  with pytest.raises(ValueError, match="holding"):
    to_spec_dtypes([[1.0], [1.0, 2.0]], box)  # ragged
  with pytest.raises(ValueError, match=r"the keys \['b'\] for the observation's Dict space, "
                                       r"which declares the keys \['a'\]"):
    to_spec_dtypes({"b": [0.0, 0.0]}, {"a": box})
  with pytest.raises(ValueError, match="returned a list for the observation's Dict space"):
    to_spec_dtypes([0.0, 0.0], {"a": box})
  with pytest.raises(ValueError, match="returned 1 part for the observation's Tuple space of 2"):
    to_spec_dtypes(([0.0, 0.0],), (box, box))


def test_legitimate_observations_still_cast_and_subtle_overflows_are_caught():
  from rlrun.environments.gym_wrapper import spec_from_gym_space, to_spec_dtypes
  box = array_spec.BoundedArraySpec((2,), np.float32, -1, 1, name="observation")
  assert to_spec_dtypes(np.array([1.0, 2.0], dtype=object), box).tolist() == [1.0, 2.0]
  pair = spec_from_gym_space(gym_wrapper.gym.spaces.Tuple(
      (gym_wrapper.gym.spaces.Discrete(3), gym_wrapper.gym.spaces.Discrete(3))))
  assert [int(v) for v in to_spec_dtypes(np.array([1, 2]), pair)] == [1, 2]  # gym allows arrays
  unsigned = array_spec.BoundedArraySpec((2,), np.uint64, 0, 5, name="counts")
  with pytest.raises(ValueError, match="counts holding -1, which its space's dtype uint64"):
    to_spec_dtypes(np.array([-1, 2]), unsigned)
  signed = array_spec.BoundedArraySpec((2,), np.int64, 0, 5, name="ids")
  with pytest.raises(ValueError, match=f"ids holding {2**63}"):
    to_spec_dtypes(np.array([2**63, 1], dtype=np.uint64), signed)
  with pytest.raises(ValueError, match="holding 0.5"):
    to_spec_dtypes(np.array([0.5, 1], dtype=object), signed)
  with pytest.raises(ValueError, match=r"\(observation, info\): gym 0.26's reset API") as error:
    to_spec_dtypes((np.zeros(2), {}), box)
  ragged = [np.zeros(500), np.zeros(600)]
  with pytest.raises(ValueError) as error:
    to_spec_dtypes(ragged, box)
  assert "\n" not in str(error.value) and len(str(error.value)) < 300
