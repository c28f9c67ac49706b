"""Tests for TFPyEnvironment (imports TensorFlow)."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.environments import batched_py_environment, suite_gym, tf_py_environment
from rlrun.specs import tensor_spec
from rlrun.trajectories.time_step import StepType


@pytest.fixture(scope="module")
def cartpole():
  env = tf_py_environment.TFPyEnvironment(suite_gym.load("CartPole-v0", seed=0))
  yield env
  env.close()


def test_specs_are_tensor_specs(cartpole):
  obs_spec = cartpole.observation_spec()
  assert isinstance(obs_spec, tensor_spec.BoundedTensorSpec)
  assert obs_spec.shape == (4,) and obs_spec.dtype == tf.float32
  assert obs_spec.name == "observation"
  action_spec = cartpole.action_spec()
  assert isinstance(action_spec, tensor_spec.BoundedTensorSpec)
  assert action_spec.shape == () and action_spec.dtype == tf.int64
  assert int(action_spec.minimum) == 0 and int(action_spec.maximum) == 1
  time_step_spec = cartpole.time_step_spec()
  assert time_step_spec.observation is obs_spec
  assert time_step_spec.step_type.dtype == tf.int32
  assert time_step_spec.reward == tf.TensorSpec((), tf.float32, name="reward")
  assert cartpole.reward_spec() is time_step_spec.reward


def test_unbatched_env_gets_batch_of_one(cartpole):
  assert cartpole.batched and cartpole.batch_size == 1
  assert isinstance(cartpole.pyenv, batched_py_environment.BatchedPyEnvironment)
  time_step = cartpole.reset()
  assert isinstance(time_step.observation, tf.Tensor)
  assert time_step.observation.shape == (1, 4) and time_step.observation.dtype == tf.float32
  assert time_step.step_type.shape == (1,) and time_step.step_type.dtype == tf.int32
  assert time_step.reward.shape == (1,) and time_step.discount.shape == (1,)
  assert int(time_step.step_type[0]) == StepType.FIRST


def test_step_accepts_tensors_and_numpy(cartpole):
  cartpole.reset()
  action = tensor_spec.sample_spec_nest(cartpole.action_spec(), outer_dims=(1,))
  assert action.shape == (1,) and action.dtype == tf.int64
  time_step = cartpole.step(action)
  assert int(time_step.step_type[0]) == StepType.MID
  assert float(time_step.reward[0]) == 1.0
  time_step = cartpole.step(np.array([0], np.int64))
  assert time_step.observation.shape == (1, 4)
  current = cartpole.current_time_step()
  np.testing.assert_array_equal(current.observation.numpy(), time_step.observation.numpy())


def test_step_without_batch_dim_raises(cartpole):
  cartpole.reset()
  with pytest.raises(ValueError, match="leading batch dimension"):
    cartpole.step(tf.constant(1, tf.int64))


def test_episode_runs_to_last_then_first():
  env = tf_py_environment.TFPyEnvironment(suite_gym.load("CartPole-v0", max_episode_steps=3))
  env.reset()
  types = [int(env.step(tf.constant([1], tf.int64)).step_type[0]) for _ in range(4)]
  assert types == [StepType.MID, StepType.MID, StepType.LAST, StepType.FIRST]


def test_batched_env_kept(make_fake_env):
  py_env = batched_py_environment.BatchedPyEnvironment([make_fake_env(), make_fake_env()])
  env = tf_py_environment.TFPyEnvironment(py_env)
  assert env.pyenv is py_env and env.batch_size == 2
  assert env.reset().observation.shape == (2, 3)
  assert env.step(tf.constant([0, 1], tf.int64)).reward.numpy().tolist() == [1.0, 1.0]


def test_render_and_type_errors(cartpole):
  cartpole.reset()
  assert cartpole.render().shape == (400, 600, 3)
  with pytest.raises(TypeError, match="PyEnvironment"):
    tf_py_environment.TFPyEnvironment("CartPole-v0")


def test_reset_and_step_inside_tf_function_have_static_shapes(make_fake_env):
  py_env = batched_py_environment.BatchedPyEnvironment(
      [make_fake_env(episode_length=2, env_id=i) for i in range(3)])
  env = tf_py_environment.TFPyEnvironment(py_env)

  @tf.function(autograph=False)
  def reset_then_step(action):
    first = env.reset()
    assert first.observation.shape == (3, 3) and first.step_type.shape == (3,)
    assert first.reward.dtype == tf.float32 and first.step_type.dtype == tf.int32
    with tf.control_dependencies(tf.nest.flatten(first)):
      return env.step(action), env.current_time_step()

  stepped, current = reset_then_step(tf.constant([0, 1, 1], tf.int64))
  assert stepped.step_type.numpy().tolist() == [StepType.MID] * 3
  assert stepped.reward.numpy().tolist() == [1.0, 1.0, 1.0]
  assert stepped.observation.numpy()[:, 2].tolist() == [0.0, 1.0, 2.0]
  np.testing.assert_array_equal(current.observation.numpy(), stepped.observation.numpy())
  assert [int(e.actions[-1]) for e in py_env.envs] == [0, 1, 1]


def test_step_inside_while_loop_auto_resets(make_fake_env):
  env = tf_py_environment.TFPyEnvironment(make_fake_env(episode_length=2))

  @tf.function(autograph=False)
  def run(n):
    def body(i, types, time_step):
      del time_step
      next_step = env.step(tf.constant([1], tf.int64))
      return i + 1, types.write(i, next_step.step_type[0]), next_step
    types = tf.TensorArray(tf.int32, size=n)
    _, types, last = tf.while_loop(lambda i, *_: i < n, body,
                                   (tf.constant(0), types, env.reset()))
    return types.stack(), last

  types, last = run(tf.constant(4))
  assert types.numpy().tolist() == [StepType.MID, StepType.LAST, StepType.FIRST, StepType.MID]
  assert last.observation.shape == (1, 3)


def test_action_without_batch_dim_raises_while_tracing(cartpole):
  @tf.function(autograph=False)
  def step():
    return cartpole.step(tf.constant(1, tf.int64))
  with pytest.raises(ValueError, match="leading batch dimension"):
    step()
