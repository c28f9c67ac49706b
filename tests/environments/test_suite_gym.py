"""Tests for suite_gym.load on the classic-control gym environments."""

import warnings

import gin
import numpy as np
import pytest

from rlrun.environments import gym_wrapper, suite_gym, wrappers
from rlrun.specs import array_spec
from rlrun.trajectories.time_step import StepType

CARTPOLE_OBS_SPEC = (
    "BoundedArraySpec(shape=(4,), dtype=dtype('float32'), name='observation', "
    "minimum=[-4.8000002e+00 -3.4028235e+38 -4.1887903e-01 -3.4028235e+38], "
    "maximum=[4.8000002e+00 3.4028235e+38 4.1887903e-01 3.4028235e+38])")
CARTPOLE_ACTION_SPEC = (
    "BoundedArraySpec(shape=(), dtype=dtype('int64'), name='action', minimum=0, maximum=1)")
CLASSIC_IDS = ["CartPole-v0", "CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1"]


def _balance(observation) -> np.ndarray:
  """A linear controller that keeps CartPole's pole up for 200+ steps."""
  x, x_dot, theta, theta_dot = observation
  return np.int64(theta + 0.5 * theta_dot + 0.01 * x + 0.1 * x_dot > 0)


def _run_episode(env, policy):
  steps = [env.reset()]
  while not steps[-1].is_last():
    steps.append(env.step(policy(steps[-1].observation)))
  return steps


def test_cartpole_specs_print_like_the_tutorial():
  env = suite_gym.load("CartPole-v0")
  assert str(env.time_step_spec().observation) == CARTPOLE_OBS_SPEC
  assert str(env.time_step_spec().reward) == (
      "ArraySpec(shape=(), dtype=dtype('float32'), name='reward')")
  assert str(env.action_spec()) == CARTPOLE_ACTION_SPEC


def test_cartpole_gym_time_limit_replaced_by_ours():
  env = suite_gym.load("CartPole-v0")
  assert isinstance(env, wrappers.TimeLimit) and env.duration == 200
  assert not isinstance(env.gym, gym_wrapper.gym.wrappers.TimeLimit)


def test_cartpole_step_types_and_dtypes():
  env = suite_gym.load("CartPole-v0", seed=0)
  first = env.reset()
  nxt = env.step(np.array(1, dtype=np.int32))
  assert int(first.step_type) == StepType.FIRST and float(first.reward) == 0.0
  assert int(nxt.step_type) == StepType.MID and float(nxt.reward) == 1.0
  assert float(nxt.discount) == 1.0
  for time_step in (first, nxt):
    assert array_spec.check_arrays_nest(time_step, env.time_step_spec())


def test_cartpole_200th_step_is_truncation_with_discount_one():
  env = suite_gym.load("CartPole-v0", seed=1)
  steps = _run_episode(env, _balance)
  assert len(steps) == 201  # FIRST + 200 actions
  assert [int(s.step_type) for s in steps[:3]] == [StepType.FIRST, StepType.MID, StepType.MID]
  assert all(int(s.step_type) == StepType.MID for s in steps[1:-1])
  assert int(steps[-1].step_type) == StepType.LAST
  assert float(steps[-1].discount) == 1.0
  assert int(env.step(np.int64(0)).step_type) == StepType.FIRST


def test_cartpole_fall_is_termination_with_discount_zero():
  env = suite_gym.load("CartPole-v0", seed=1)
  steps = _run_episode(env, lambda obs: np.int64(1))
  assert len(steps) < 50
  assert float(steps[-1].discount) == 0.0


def test_max_episode_steps_override():
  env = suite_gym.load("CartPole-v1", max_episode_steps=5, seed=0)
  steps = _run_episode(env, _balance)
  assert len(steps) == 6 and float(steps[-1].discount) == 1.0
  assert env.gym.spec.max_episode_steps == 500  # gym's own spec untouched
  unlimited = suite_gym.load("CartPole-v1", max_episode_steps=0)
  assert isinstance(unlimited, gym_wrapper.GymWrapper)
  with pytest.raises(ValueError, match="max_episode_steps"):
    suite_gym.load("CartPole-v1", max_episode_steps=-1)


def test_unknown_id_error_is_one_helpful_line():
  with pytest.raises(ValueError) as info:
    suite_gym.load("Foo-v0")
  first_line = str(info.value).splitlines()[0]  # gin appends "In call to configurable ..."
  assert first_line.startswith(
      "unknown gym environment id 'Foo-v0'; known ids include: CartPole-v0, CartPole-v1, ")
  assert "gym.envs.registry" in first_line
  with pytest.raises(ValueError, match="known ids include: CartPole-v0, CartPole-v1"):
    suite_gym.load("cartpole-v0")
  with pytest.raises(TypeError, match="gym id string"):
    suite_gym.load(3)


def test_load_emits_no_warnings():
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    suite_gym.load("CartPole-v0")
  assert not caught, [str(w.message) for w in caught]


@pytest.mark.parametrize("name", CLASSIC_IDS)
def test_classic_control_ids_load_and_step(name):
  env = suite_gym.load(name, seed=0)
  rng = np.random.default_rng(0)
  spec = env.time_step_spec()
  time_step = env.reset()
  assert array_spec.check_arrays_nest(time_step, spec)
  for _ in range(5):
    time_step = env.step(array_spec.sample_spec_nest(env.action_spec(), rng))
    assert array_spec.check_arrays_nest(time_step, spec)
  assert int(time_step.step_type) in (StepType.MID, StepType.LAST)
  env.close()


def test_pendulum_specs():
  env = suite_gym.load("Pendulum-v1")
  assert env.observation_spec().dtype == np.float32
  action_spec = env.action_spec()
  assert action_spec.shape == (1,) and action_spec.dtype == np.float32
  assert float(np.min(action_spec.minimum)) == -2.0 and float(np.max(action_spec.maximum)) == 2.0
  assert env.duration == 200


def test_seed_is_deterministic():
  def first_observations(seed):
    env = suite_gym.load("CartPole-v1", seed=seed)
    return [env.reset().observation for _ in range(3)]
  a, b, c = first_observations(7), first_observations(7), first_observations(8)
  np.testing.assert_array_equal(np.stack(a), np.stack(b))
  assert not np.array_equal(a[0], c[0])


def test_wrappers_and_gin_binding():
  env = suite_gym.load("Pendulum-v1", env_wrappers=[wrappers.ActionClipWrapper],
                       gym_env_wrappers=[lambda e: gym_wrapper.gym.wrappers.ClipAction(e)])
  assert isinstance(env, wrappers.ActionClipWrapper)
  assert isinstance(env.wrapped_env(), wrappers.TimeLimit)
  env.reset()
  assert int(env.step(np.array([5.0], np.float32)).step_type) == StepType.MID
  try:
    gin.parse_config("suite_gym.load.max_episode_steps = 3")
    env = suite_gym.load("CartPole-v1")
    assert env.duration == 3
  finally:
    gin.clear_config()


def test_render_rgb_array():
  env = suite_gym.load("CartPole-v0")
  env.reset()
  frame = env.render()
  assert frame.shape == (400, 600, 3) and frame.dtype == np.uint8
  env.close()
