"""Tests for Tuple/Dict gym observations, FlattenObservationsWrapper,
ObservationFilterWrapper and ActionRepeat."""

import numpy as np
import pytest

from rlrun.environments import batched_py_environment, gym_wrapper, suite_gym, wrappers
from rlrun.specs import array_spec
from rlrun.trajectories.time_step import StepType

gym = gym_wrapper.import_gym()


class NestedObservationEnv(gym.Env):
  """A gym env with a Tuple or Dict observation; the k-th step's values depend on k."""

  def __init__(self, kind: str):
    super().__init__()
    self.kind = kind
    if kind == "tuple":
      self.observation_space = gym.spaces.Tuple(
          (gym.spaces.Discrete(3), gym.spaces.Box(-1.0, 1.0, (2,), np.float32)))
    else:
      self.observation_space = gym.spaces.Dict(
          {"pos": gym.spaces.Box(0.0, 5.0, (2,), np.float64), "flag": gym.spaces.Discrete(2)})
    self.action_space = gym.spaces.Discrete(2)
    self.k = 0

  def _observation(self):
    if self.kind == "tuple":
      return (self.k % 3, np.array([0.5, -0.5], np.float32) * (self.k % 2))
    return {"pos": np.array([1.0, 2.0]) + self.k, "flag": self.k % 2}

  def reset(self, **kwargs):
    self.k = 0
    return self._observation()

  def step(self, action):
    self.k += 1
    return self._observation(), float(action), self.k >= 3, {}


def test_gym_tuple_space_becomes_tuple_spec():
  env = gym_wrapper.GymWrapper(NestedObservationEnv("tuple"))
  discrete, box = env.observation_spec()
  assert discrete == array_spec.BoundedArraySpec((), np.int64, 0, 2, name="observation_0")
  assert box == array_spec.BoundedArraySpec((2,), np.float32, -1.0, 1.0, name="observation_1")
  steps = [env.reset(), env.step(np.int64(1))]
  for time_step in steps:
    assert array_spec.check_arrays_nest(time_step, env.time_step_spec())
  assert isinstance(steps[1].observation, tuple) and steps[1].observation[0].dtype == np.int64
  np.testing.assert_array_equal(steps[1].observation[1], [0.5, -0.5])


def test_gym_dict_space_becomes_dict_spec():
  env = gym_wrapper.GymWrapper(NestedObservationEnv("dict"))
  spec = env.observation_spec()
  assert sorted(spec) == ["flag", "pos"]
  assert spec["pos"] == array_spec.BoundedArraySpec((2,), np.float32, 0.0, 5.0, name="pos")
  assert spec["flag"] == array_spec.BoundedArraySpec((), np.int64, 0, 1, name="flag")
  time_step = env.step(np.int64(0))  # before any reset: a FIRST time step
  assert int(time_step.step_type) == StepType.FIRST
  assert array_spec.check_arrays_nest(time_step, env.time_step_spec())
  assert time_step.observation["pos"].dtype == np.float32


def test_flatten_tuple_observation():
  env = wrappers.FlattenObservationsWrapper(gym_wrapper.GymWrapper(NestedObservationEnv("tuple")))
  assert env.observation_spec() == array_spec.BoundedArraySpec(
      (3,), np.float32, [0.0, -1.0, -1.0], [2.0, 1.0, 1.0], name="observation")
  assert env.time_step_spec().observation == env.observation_spec()
  steps = [env.reset()] + [env.step(np.int64(1)) for _ in range(4)]
  np.testing.assert_array_equal(steps[0].observation, [0.0, 0.0, 0.0])
  np.testing.assert_array_equal(steps[1].observation, [1.0, 0.5, -0.5])
  for time_step in steps:
    assert array_spec.check_arrays_nest(time_step, env.time_step_spec())
  # The wrapper handles auto-reset: after the LAST (3rd step) comes a FIRST.
  assert [int(s.step_type) for s in steps] == [StepType.FIRST, StepType.MID, StepType.MID,
                                               StepType.LAST, StepType.FIRST]


def test_flatten_dict_observation_sorted_keys_and_allowlist():
  env = wrappers.FlattenObservationsWrapper(gym_wrapper.GymWrapper(NestedObservationEnv("dict")))
  spec = env.observation_spec()
  np.testing.assert_array_equal(spec.minimum, [0.0, 0.0, 0.0])
  np.testing.assert_array_equal(spec.maximum, [1.0, 5.0, 5.0])
  env.reset()
  np.testing.assert_array_equal(env.step(np.int64(0)).observation, [1.0, 2.0, 3.0])  # flag, pos
  only_pos = wrappers.FlattenObservationsWrapper(
      gym_wrapper.GymWrapper(NestedObservationEnv("dict")), observations_allowlist=["pos"])
  assert only_pos.observation_spec().shape == (2,)
  np.testing.assert_array_equal(only_pos.reset().observation, [1.0, 2.0])


def test_flatten_bad_allowlists():
  dict_env = gym_wrapper.GymWrapper(NestedObservationEnv("dict"))
  with pytest.raises(ValueError, match=r"unknown: \['speed'\], available: \['flag', 'pos'\]"):
    wrappers.FlattenObservationsWrapper(dict_env, observations_allowlist=["speed"])
  with pytest.raises(TypeError, match=r"pass \['pos'\]"):
    wrappers.FlattenObservationsWrapper(dict_env, observations_allowlist="pos")
  with pytest.raises(ValueError, match="needs a dict observation spec, got tuple"):
    wrappers.FlattenObservationsWrapper(gym_wrapper.GymWrapper(NestedObservationEnv("tuple")),
                                        observations_allowlist=["0"])


def test_flatten_batched_env_keeps_batch_dimension():
  batched = batched_py_environment.BatchedPyEnvironment(
      [gym_wrapper.GymWrapper(NestedObservationEnv("tuple")) for _ in range(2)])
  env = wrappers.FlattenObservationsWrapper(batched)
  assert env.batched and env.observation_spec().shape == (3,)
  env.reset()
  time_step = env.step(np.array([1, 0]))
  assert time_step.observation.shape == (2, 3) and time_step.observation.dtype == np.float32
  np.testing.assert_array_equal(time_step.observation[1], [1.0, 0.5, -0.5])


def test_flatten_via_suite_gym_cartpole():
  env = suite_gym.load("CartPole-v0", env_wrappers=[wrappers.FlattenObservationsWrapper])
  assert env.observation_spec().shape == (4,)
  assert env.reset().observation.shape == (4,)


def test_observation_filter(make_fake_env):
  env = wrappers.ObservationFilterWrapper(make_fake_env(env_id=7, obs_max=50.0), [0, 2])
  assert env.observation_spec() == array_spec.BoundedArraySpec(
      (2,), np.float32, [0.0, 0.0], [50.0, 50.0], name="observation")
  env.reset()
  np.testing.assert_array_equal(env.step(np.int64(0)).observation, [1.0, 7.0])
  single = wrappers.ObservationFilterWrapper(make_fake_env(env_id=3), -1)
  assert single.observation_spec().shape == (1,)
  np.testing.assert_array_equal(single.reset().observation, [3.0])
  batched = wrappers.ObservationFilterWrapper(batched_py_environment.BatchedPyEnvironment(
      [make_fake_env(env_id=1), make_fake_env(env_id=2)]), [2])
  np.testing.assert_array_equal(batched.reset().observation, [[1.0], [2.0]])


def test_observation_filter_rejects_bad_idx(make_fake_env):
  for idx in (3, [], [0.5], [-4]):
    with pytest.raises(ValueError, match=r"must be one or more ints in \[-3, 3\)"):
      wrappers.ObservationFilterWrapper(make_fake_env(), idx)
  with pytest.raises(ValueError, match="single-array observation spec"):
    wrappers.ObservationFilterWrapper(gym_wrapper.GymWrapper(NestedObservationEnv("dict")), 0)


def test_action_repeat_sums_rewards_and_stops_at_last(make_fake_env):
  inner = make_fake_env(episode_length=5)
  env = wrappers.ActionRepeat(inner, times=2)
  steps = [env.reset()] + [env.step(np.int64(1)) for _ in range(4)]
  assert [int(s.step_type) for s in steps] == [StepType.FIRST, StepType.MID, StepType.MID,
                                               StepType.LAST, StepType.FIRST]
  assert [float(s.reward) for s in steps[1:4]] == [1 + 2, 3 + 4, 5]
  assert steps[1].reward.dtype == np.float32
  assert float(steps[3].discount) == 0.0  # the termination's discount
  assert len(inner.actions) == 5 and inner.num_resets == 2


def test_action_repeat_rejects_bad_arguments(make_fake_env):
  for times in (0, 1.5, True):
    with pytest.raises(ValueError, match="times must be an int >= 1"):
      wrappers.ActionRepeat(make_fake_env(), times)
  batched = batched_py_environment.BatchedPyEnvironment([make_fake_env()])
  with pytest.raises(ValueError, match="needs an unbatched env"):
    wrappers.ActionRepeat(batched, 2)
