"""Tests for BatchedPyEnvironment (no gym)."""

import numpy as np
import pytest

from rlrun.environments import batched_py_environment
from rlrun.specs import array_spec
from rlrun.trajectories.time_step import StepType

BatchedPyEnvironment = batched_py_environment.BatchedPyEnvironment


def test_specs_and_batch_size(make_fake_env):
  envs = [make_fake_env(env_id=i) for i in range(3)]
  env = BatchedPyEnvironment(envs)
  assert env.batched and env.batch_size == 3
  assert env.observation_spec() == envs[0].observation_spec()
  assert env.action_spec() == envs[0].action_spec()
  assert env.time_step_spec() == envs[0].time_step_spec()


def test_reset_stacks_first_steps(make_fake_env):
  env = BatchedPyEnvironment([make_fake_env(env_id=i) for i in range(3)])
  time_step = env.reset()
  assert time_step.step_type.shape == (3,)
  np.testing.assert_array_equal(time_step.step_type, [StepType.FIRST] * 3)
  assert time_step.observation.shape == (3, 3)
  assert time_step.observation.dtype == np.float32
  np.testing.assert_array_equal(time_step.observation[:, 2], [0, 1, 2])
  assert env.current_time_step() is time_step


def test_step_routes_action_slices(make_fake_env):
  envs = [make_fake_env(env_id=i) for i in range(2)]
  env = BatchedPyEnvironment(envs)
  env.reset()
  time_step = env.step(np.array([0, 1], np.int64))
  assert int(envs[0].actions[-1]) == 0 and int(envs[1].actions[-1]) == 1
  np.testing.assert_array_equal(time_step.step_type, [StepType.MID] * 2)
  np.testing.assert_array_equal(time_step.reward, [1.0, 1.0])
  assert time_step.reward.dtype == np.float32


def test_members_auto_reset_independently(make_fake_env):
  envs = [make_fake_env(episode_length=1), make_fake_env(episode_length=2)]
  env = BatchedPyEnvironment(envs)
  env.reset()
  actions = np.zeros(2, np.int64)
  types = [env.step(actions).step_type.tolist() for _ in range(4)]
  assert types == [[StepType.LAST, StepType.MID],
                   [StepType.FIRST, StepType.LAST],
                   [StepType.LAST, StepType.FIRST],
                   [StepType.FIRST, StepType.MID]]
  assert [e.num_resets for e in envs] == [3, 2]


def test_step_before_reset_gives_first(make_fake_env):
  env = BatchedPyEnvironment([make_fake_env(), make_fake_env()])
  time_step = env.step(np.zeros(2, np.int64))
  np.testing.assert_array_equal(time_step.step_type, [StepType.FIRST] * 2)


def test_action_without_batch_dim_raises(make_fake_env):
  env = BatchedPyEnvironment([make_fake_env(), make_fake_env()])
  env.reset()
  with pytest.raises(ValueError, match="leading batch dimension of size 2"):
    env.step(np.int64(0))
  with pytest.raises(ValueError, match="leading batch dimension"):
    env.step(np.zeros(3, np.int64))


def test_mismatched_specs_raise(make_fake_env):
  with pytest.raises(ValueError, match="action_spec"):
    BatchedPyEnvironment([make_fake_env(), make_fake_env(continuous=True)])
  with pytest.raises(ValueError, match="observation_spec"):
    BatchedPyEnvironment([make_fake_env(), make_fake_env(obs_max=5.0)])


def test_bad_members_raise(make_fake_env):
  with pytest.raises(ValueError, match="at least one"):
    BatchedPyEnvironment([])
  with pytest.raises(TypeError, match=r"envs\[1\]"):
    BatchedPyEnvironment([make_fake_env(), "not an env"])
  with pytest.raises(ValueError, match="already batched"):
    BatchedPyEnvironment([BatchedPyEnvironment([make_fake_env()])])


def test_render_seed_info_close(make_fake_env):
  envs = [make_fake_env(env_id=4), make_fake_env(env_id=5)]
  env = BatchedPyEnvironment(envs)
  assert env.render()[0, 0, 0] == 4
  env.seed(10)
  assert [e.seed_value for e in envs] == [10, 11]
  assert env.get_info() == [{"env_id": 4}, {"env_id": 5}]
  env.close()
  assert all(e.closed for e in envs)


def test_outputs_match_batched_spec(make_fake_env):
  env = BatchedPyEnvironment([make_fake_env(), make_fake_env()])
  spec = array_spec.add_outer_dims_nest(env.time_step_spec(), (2,))
  assert array_spec.check_arrays_nest(env.reset(), spec)
  assert array_spec.check_arrays_nest(env.step(np.ones(2, np.int64)), spec)
