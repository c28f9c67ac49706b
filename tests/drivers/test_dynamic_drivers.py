"""DynamicStepDriver / DynamicEpisodeDriver: exact counts, batching, resuming, policy state."""

import numpy as np
import pytest
import tensorflow as tf

import fake_envs
from rlrun.drivers import dynamic_episode_driver, dynamic_step_driver
from rlrun.environments import batched_py_environment, suite_gym, tf_py_environment
from rlrun.metrics import tf_metrics
from rlrun.policies import random_tf_policy, tf_policy
from rlrun.trajectories import PolicyStep, Transition

F, M, L = 0, 1, 2


class CounterPolicy(tf_policy.TFPolicy):
  """Always action 0; its state counts the calls and is exposed as policy_info."""

  def __init__(self, env):
    counter = tf.TensorSpec((), tf.int32, "counter")
    super().__init__(env.time_step_spec(), env.action_spec(), policy_state_spec=counter,
                     info_spec=counter)

  def _action(self, time_step, policy_state, seed):
    action = tf.zeros_like(time_step.step_type)
    return PolicyStep(action, policy_state + 1, policy_state)


class Recorder:
  """An observer that copies each batched trajectory's fields to Python lists, from graph."""

  def __init__(self):
    self.steps = []  # per iteration: [(step_type, next_step_type), ...] over the batch
    self.infos = []

  def _record(self, step_type, next_step_type, info):
    self.steps.append(list(zip(step_type.tolist(), next_step_type.tolist())))
    self.infos.append(info.tolist())
    return np.int32(0)

  def __call__(self, traj):
    info = traj.policy_info if tf.nest.flatten(traj.policy_info) else tf.zeros_like(
        traj.step_type)
    tf.numpy_function(self._record, [traj.step_type, traj.next_step_type, info], tf.int32,
                      stateful=True)
    return traj


def _env(*lengths):
  """A TFPyEnvironment over CountingEnvs (one per argument, each with its length cycle)."""
  envs = [fake_envs.CountingEnv(list(cycle)) for cycle in lengths]
  py_env = envs[0] if len(envs) == 1 else batched_py_environment.BatchedPyEnvironment(envs)
  return tf_py_environment.TFPyEnvironment(py_env), envs


def _episode_metrics(batch_size=1):
  return [tf_metrics.NumberOfEpisodes(), tf_metrics.EnvironmentSteps(),
          tf_metrics.AverageReturnMetric(batch_size), tf_metrics.AverageEpisodeLengthMetric(
              batch_size)]


def _results(metrics):
  return [m.result().numpy().item() for m in metrics]


def test_step_driver_counts_exact_steps_and_resumes():
  env, (py_env,) = _env([3])
  metrics, recorder = _episode_metrics(), Recorder()
  driver = dynamic_step_driver.DynamicStepDriver(
      env, CounterPolicy(env), metrics + [recorder], num_steps=7)
  time_step, state = driver.run()
  # 7 steps = two 3-step episodes and one step; the two boundaries are not steps.
  assert [s[0] for s in recorder.steps] == [(F, M), (M, M), (M, L), (L, F)] * 2 + [(F, M)]
  assert int(time_step.step_type[0]) == M and float(time_step.observation[0, 0]) == 1.0
  assert state.numpy().tolist() == [9]  # one policy call per iteration
  assert _results(metrics) == [2, 7, 3.0, 3.0]
  assert len(py_env.actions) == 7  # the env ignored the boundary actions

  time_step, state = driver.run(time_step, state)
  assert [s[0] for s in recorder.steps[9:]] == [(M, M), (M, L), (L, F), (F, M), (M, M), (M, L),
                                                (L, F), (F, M), (M, M)]
  assert recorder.infos[9:] == [[9], [10], [11], [12], [13], [14], [15], [16], [17]]
  assert state.numpy().tolist() == [18]
  assert _results(metrics)[:2] == [4, 14]


def test_step_driver_batched_sums_steps_over_the_batch():
  env, _ = _env([2], [3], [4])
  steps = tf_metrics.EnvironmentSteps()
  driver = dynamic_step_driver.DynamicStepDriver(env, CounterPolicy(env), [steps], num_steps=6)
  time_step, state = driver.run()
  # 2 iterations x 3 entries; row 0 is LAST after its 2 steps. CounterPolicy's action
  # ignores the time step, so this also checks the first env step waits for the reset.
  assert steps.result().numpy() == 6
  assert time_step.step_type.numpy().tolist() == [L, M, M]
  assert state.numpy().tolist() == [2, 2, 2]


def test_episode_driver_ends_on_the_boundary_step_and_resumes():
  env, (py_env,) = _env([2, 3])
  metrics, recorder = _episode_metrics(), Recorder()
  driver = dynamic_episode_driver.DynamicEpisodeDriver(
      env, CounterPolicy(env), metrics + [recorder], num_episodes=2)
  time_step, state = driver.run()
  assert [s[0] for s in recorder.steps] == [(F, M), (M, L), (L, F), (F, M), (M, M), (M, L),
                                            (L, F)]
  assert int(time_step.step_type[0]) == F  # the next episode has started
  assert _results(metrics) == [2, 5, 2.5, 2.5]
  assert state.numpy().tolist() == [7]

  time_step, state = driver.run(time_step, state)
  assert recorder.steps[7][0] == (F, M)  # the resumed run starts a fresh episode
  assert len(recorder.steps) == 14 and int(time_step.step_type[0]) == F
  assert _results(metrics) == [4, 10, 2.5, 2.5]
  assert py_env.num_resets == 5 and state.numpy().tolist() == [14]


def test_episode_driver_batched_episodes_ending_at_different_times():
  env, _ = _env([2], [3], [5])
  metrics, recorder = _episode_metrics(batch_size=3), Recorder()
  driver = dynamic_episode_driver.DynamicEpisodeDriver(
      env, CounterPolicy(env), metrics + [recorder], num_episodes=3)
  time_step, state = driver.run()
  # Episodes end at iteration 2 (row 0), 3 (row 1), 5 (rows 0 and 2): 4 >= 3. The
  # closing iteration 6 is a boundary for rows 0 and 2 and a step for row 1.
  assert len(recorder.steps) == 6
  assert recorder.steps[4] == [(M, L), (F, M), (M, L)]
  assert recorder.steps[5] == [(L, F), (M, M), (L, F)]
  assert time_step.step_type.numpy().tolist() == [F, M, F]
  assert _results(metrics) == [4, 14, 3.0, 3.0]  # episode lengths 2, 3, 2, 5
  assert state.numpy().tolist() == [6, 6, 6]


def test_maximum_iterations_caps_a_run():
  env, _ = _env([3])
  episodes = tf_metrics.NumberOfEpisodes()
  driver = dynamic_episode_driver.DynamicEpisodeDriver(
      env, CounterPolicy(env), [episodes], num_episodes=5)
  time_step, state = driver.run(maximum_iterations=3)
  assert int(time_step.step_type[0]) == L and state.numpy().tolist() == [3]
  assert episodes.result().numpy() == 1


def test_transition_observers_and_default_policy_state():
  env, _ = _env([2])
  seen = []
  def record(transition):
    assert isinstance(transition, Transition)
    tf.numpy_function(lambda t: seen.append(t.tolist()) or np.int32(0),
                      [transition.next_time_step.step_type], tf.int32, stateful=True)
  driver = dynamic_step_driver.DynamicStepDriver(env, CounterPolicy(env),
                                                 transition_observers=[record], num_steps=2)
  _, state = driver.run()
  assert seen == [[M], [L]] and state.numpy().tolist() == [2]
  _, state = driver.run()  # policy_state=None: back to the initial state
  assert seen[2:] == [[F], [M], [L]] and state.numpy().tolist() == [3]


def test_bad_arguments_raise():
  env, _ = _env([2])
  policy = CounterPolicy(env)
  with pytest.raises(ValueError, match="num_steps=0"):
    dynamic_step_driver.DynamicStepDriver(env, policy, num_steps=0)
  with pytest.raises(ValueError, match="num_episodes=1.5"):
    dynamic_episode_driver.DynamicEpisodeDriver(env, policy, num_episodes=1.5)
  with pytest.raises(TypeError, match="TFPolicy"):
    dynamic_step_driver.DynamicStepDriver(env, "policy")
  with pytest.raises(TypeError, match="TFPyEnvironment"):
    dynamic_step_driver.DynamicStepDriver(fake_envs.CountingEnv(), policy)
  with pytest.raises(TypeError, match=r"observers\[0\]"):
    dynamic_episode_driver.DynamicEpisodeDriver(env, policy, observers=[3])
  with pytest.raises(ValueError, match="maximum_iterations=0"):
    dynamic_step_driver.DynamicStepDriver(env, policy).run(maximum_iterations=0)


def test_cartpole_random_policy_tutorial_flow():
  env = tf_py_environment.TFPyEnvironment(suite_gym.load("CartPole-v0", seed=0))
  policy = random_tf_policy.RandomTFPolicy(env.time_step_spec(), env.action_spec())
  num_episodes, env_steps = tf_metrics.NumberOfEpisodes(), tf_metrics.EnvironmentSteps()
  lengths = tf_metrics.AverageEpisodeLengthMetric()
  driver = dynamic_episode_driver.DynamicEpisodeDriver(
      env, policy, [num_episodes, env_steps, lengths], num_episodes=2)
  final_time_step, policy_state = driver.run()
  assert final_time_step.step_type.numpy().tolist() == [F]
  assert final_time_step.observation.shape == (1, 4) and policy_state == ()
  assert num_episodes.result().numpy() == 2
  first_steps = env_steps.result().numpy()
  assert first_steps == round(2 * lengths.result().numpy()) and first_steps >= 2 * 8

  final_time_step, _ = driver.run(final_time_step, policy_state)
  assert final_time_step.step_type.numpy().tolist() == [F]
  assert num_episodes.result().numpy() == 4
  assert env_steps.result().numpy() == round(4 * lengths.result().numpy())
  assert env_steps.result().numpy() > first_steps
