"""Tests for PyEnvironmentBaseWrapper, TimeLimit and ActionClipWrapper (no gym)."""

import numpy as np
import pytest

from rlrun.environments import batched_py_environment, wrappers
from rlrun.trajectories.time_step import StepType


def _types(steps):
  return [int(s.step_type) for s in steps]


def test_base_wrapper_delegates(make_fake_env):
  inner = make_fake_env(env_id=7)
  env = wrappers.PyEnvironmentBaseWrapper(inner)
  assert env.observation_spec() == inner.observation_spec()
  assert env.action_spec() == inner.action_spec()
  assert env.time_step_spec() == inner.time_step_spec()
  assert not env.batched and env.batch_size is None
  assert env.wrapped_env() is inner
  env.seed(5)
  assert inner.seed_value == 5
  assert env.render()[0, 0, 0] == 7
  assert env.get_info() == {"env_id": 7}
  assert env.env_id == 7  # __getattr__ falls through
  with pytest.raises(AttributeError):
    env.no_such_attribute  # pylint: disable=pointless-statement
  env.close()
  assert inner.closed


def test_base_wrapper_delegates_batched(make_fake_env):
  batched = batched_py_environment.BatchedPyEnvironment([make_fake_env(), make_fake_env()])
  env = wrappers.PyEnvironmentBaseWrapper(batched)
  assert env.batched and env.batch_size == 2


def test_base_wrapper_rejects_non_env():
  with pytest.raises(TypeError, match="GymWrapper"):
    wrappers.PyEnvironmentBaseWrapper(object())


def test_base_wrapper_auto_resets(make_fake_env):
  env = wrappers.PyEnvironmentBaseWrapper(make_fake_env(episode_length=2))
  steps = [env.reset()] + [env.step(np.int64(1)) for _ in range(4)]
  assert _types(steps) == [StepType.FIRST, StepType.MID, StepType.LAST,
                           StepType.FIRST, StepType.MID]


def test_time_limit_truncation_keeps_discount(make_fake_env):
  env = wrappers.TimeLimit(make_fake_env(episode_length=10), duration=3)
  steps = [env.reset()] + [env.step(np.int64(0)) for _ in range(3)]
  assert _types(steps) == [StepType.FIRST, StepType.MID, StepType.MID, StepType.LAST]
  assert float(steps[-1].discount) == 1.0
  assert float(steps[-1].reward) == 3.0
  assert steps[-1].step_type.dtype == np.int32
  assert env.num_steps == 3


def test_time_limit_counter_resets_on_auto_reset(make_fake_env):
  inner = make_fake_env(episode_length=10)
  env = wrappers.TimeLimit(inner, duration=2)
  env.reset()
  steps = [env.step(np.int64(1)) for _ in range(6)]
  assert _types(steps) == [StepType.MID, StepType.LAST, StepType.FIRST,
                           StepType.MID, StepType.LAST, StepType.FIRST]
  # Auto-reset after a truncation resets the inner env instead of stepping it.
  assert inner.num_resets == 3
  assert len(inner.actions) == 4
  assert env.num_steps == 0


def test_time_limit_counter_resets_on_explicit_reset(make_fake_env):
  env = wrappers.TimeLimit(make_fake_env(episode_length=10), duration=3)
  env.reset()
  env.step(np.int64(0))
  env.step(np.int64(0))
  env.reset()
  steps = [env.step(np.int64(0)) for _ in range(3)]
  assert _types(steps) == [StepType.MID, StepType.MID, StepType.LAST]


def test_time_limit_real_termination_before_limit(make_fake_env):
  env = wrappers.TimeLimit(make_fake_env(episode_length=2), duration=5)
  env.reset()
  steps = [env.step(np.int64(0)) for _ in range(3)]
  assert _types(steps) == [StepType.MID, StepType.LAST, StepType.FIRST]
  assert float(steps[1].discount) == 0.0


def test_time_limit_termination_at_limit_stays_termination(make_fake_env):
  env = wrappers.TimeLimit(make_fake_env(episode_length=3), duration=3)
  env.reset()
  last = [env.step(np.int64(0)) for _ in range(3)][-1]
  assert int(last.step_type) == StepType.LAST
  assert float(last.discount) == 0.0


def test_time_limit_first_step_without_reset(make_fake_env):
  env = wrappers.TimeLimit(make_fake_env(episode_length=10), duration=1)
  assert int(env.step(np.int64(0)).step_type) == StepType.FIRST
  assert int(env.step(np.int64(0)).step_type) == StepType.LAST


@pytest.mark.parametrize("duration", [0, -1, 2.5, True])
def test_time_limit_rejects_bad_duration(make_fake_env, duration):
  with pytest.raises(ValueError, match="positive int"):
    wrappers.TimeLimit(make_fake_env(), duration)


def test_time_limit_rejects_batched(make_fake_env):
  batched = batched_py_environment.BatchedPyEnvironment([make_fake_env()])
  with pytest.raises(ValueError, match="unbatched"):
    wrappers.TimeLimit(batched, 3)


def test_action_clip_wrapper_clips_floats(make_fake_env):
  inner = make_fake_env(continuous=True)
  env = wrappers.ActionClipWrapper(inner)
  env.reset()
  env.step(np.array([3.0, -0.5], np.float64))
  np.testing.assert_array_equal(inner.actions[-1], [1.0, -0.5])
  assert inner.actions[-1].dtype == np.float32
  env.step(np.array([-7.0, 0.25], np.float32))
  np.testing.assert_array_equal(inner.actions[-1], [-1.0, 0.25])


def test_action_clip_wrapper_leaves_ints(make_fake_env):
  inner = make_fake_env()
  env = wrappers.ActionClipWrapper(inner)
  env.reset()
  env.step(np.int64(5))
  assert int(inner.actions[-1]) == 5
