"""PyDriver: step/episode counting, observers, policy-state resets, batched envs."""

import numpy as np
import pytest

import fake_envs
from rlrun.drivers import py_driver
from rlrun.metrics import py_metrics
from rlrun.policies import random_py_policy
from rlrun.trajectories import Trajectory, Transition

F, M, L = 0, 1, 2


def _random_policy(env, seed=0):
  return random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec(), seed=seed)


def _step_types(trajs):
  return [(int(t.step_type), int(t.next_step_type)) for t in trajs]


def test_max_steps_does_not_count_boundary_steps():
  env = fake_envs.CountingEnv([3])
  trajs = []
  driver = py_driver.PyDriver(env, _random_policy(env), [trajs.append], max_steps=10)
  final, state = driver.run(env.reset())
  # 3 episodes of 3 steps, a boundary after each, then 1 step of episode 4.
  assert _step_types(trajs) == [(F, M), (M, M), (M, L), (L, F)] * 3 + [(F, M)]
  assert int(final.step_type) == M and float(final.observation[0]) == 1.0
  assert state == ()
  assert len(env.actions) == 10  # the 3 boundary actions were ignored by the env


def test_max_episodes_stops_at_the_last_step_and_resumes_through_the_boundary():
  env = fake_envs.CountingEnv([3])
  trajs = []
  driver = py_driver.PyDriver(env, _random_policy(env), [trajs.append], max_episodes=2)
  final, _ = driver.run(env.reset())
  assert _step_types(trajs) == [(F, M), (M, M), (M, L), (L, F), (F, M), (M, M), (M, L)]
  assert int(final.step_type) == L
  trajs.clear()
  final, _ = driver.run(final)
  assert _step_types(trajs)[0] == (L, F)
  assert len(trajs) == 8 and int(final.step_type) == L


def test_tutorial_run_with_both_limits_stops_at_the_first_reached():
  env = fake_envs.CountingEnv([15])
  trajs, metric = [], py_metrics.AverageReturnMetric()
  driver = py_driver.PyDriver(env, _random_policy(env), [trajs.append, metric],
                              max_steps=20, max_episodes=1)
  final, _ = driver.run(env.reset())
  assert len(trajs) == 15 and int(trajs[-1].next_step_type) == L
  assert float(trajs[-1].discount) == 0.0
  assert metric.result() == 15.0
  assert int(final.step_type) == L
  # Now the step limit binds first.
  trajs.clear()
  env2 = fake_envs.CountingEnv([15])
  py_driver.PyDriver(env2, _random_policy(env2), [trajs.append], max_steps=4,
                     max_episodes=1).run(env2.reset())
  assert len(trajs) == 4


def test_trajectories_and_transitions_match_the_environment():
  env = fake_envs.CountingEnv([2])
  trajs, transitions = [], []
  driver = py_driver.PyDriver(env, _random_policy(env), [trajs.append],
                              transition_observers=[transitions.append], max_steps=3)
  driver.run(env.reset())
  assert len(trajs) == len(transitions) == 4
  for traj, transition in zip(trajs, transitions):
    assert isinstance(traj, Trajectory) and isinstance(transition, Transition)
    time_step, action_step, next_time_step = transition
    assert traj.step_type == time_step.step_type
    np.testing.assert_array_equal(traj.observation, time_step.observation)
    assert traj.action == action_step.action and traj.policy_info == ()
    assert traj.next_step_type == next_time_step.step_type
    assert traj.reward == next_time_step.reward and traj.discount == next_time_step.discount
  assert [float(t.reward) for t in trajs] == [1.0, 1.0, 0.0, 1.0]
  assert [float(t.observation[0]) for t in trajs] == [0.0, 1.0, 2.0, 0.0]


def test_metrics_as_observers_give_exact_values():
  env = fake_envs.CountingEnv([2, 4, 3])
  avg_return = py_metrics.AverageReturnMetric(buffer_size=2)
  max_return = py_metrics.MaxReturnMetric()
  length = py_metrics.AverageEpisodeLengthMetric()
  episodes, steps = py_metrics.NumberOfEpisodes(), py_metrics.EnvironmentSteps()
  driver = py_driver.PyDriver(env, _random_policy(env),
                              [avg_return, max_return, length, episodes, steps], max_episodes=3)
  driver.run(env.reset())
  assert avg_return.result() == pytest.approx(3.5)  # last two episodes: 4 and 3
  assert max_return.result() == 4.0
  assert length.result() == pytest.approx(3.0)
  assert episodes.result() == 3 and steps.result() == 9


def test_policy_state_restarts_after_each_boundary():
  env = fake_envs.CountingEnv([3])
  script = [(1, 0), (1, 1), (2, 0)]  # 3 episode steps + the ignored boundary action
  policy = random_py_policy.ScriptedPyPolicy(env.time_step_spec(), env.action_spec(), script)
  driver = py_driver.PyDriver(env, policy, [], max_episodes=3)
  _, state = driver.run(env.reset(), policy.get_initial_state())
  assert env.actions == [0, 1, 0] * 3
  assert state == [2, 1]  # the last episode's third action; no boundary after it

  env2 = fake_envs.CountingEnv([3])
  carry = py_driver.PyDriver(env2, policy, [], max_episodes=3, end_episode_on_boundary=False)
  with pytest.raises(ValueError, match="ran out of actions"):
    carry.run(env2.reset(), policy.get_initial_state())


def test_batched_env_counts_entries():
  env = fake_envs.BatchedCountingEnv([2, 3])
  trajs = []
  metrics = [py_metrics.EnvironmentSteps(), py_metrics.NumberOfEpisodes(),
             py_metrics.AverageReturnMetric(), py_metrics.AverageEpisodeLengthMetric()]
  driver = py_driver.PyDriver(env, _random_policy(env), [trajs.append] + metrics, max_steps=7)
  final, state = driver.run(env.reset(), policy_state="kept")
  # Entry 0 (length 2) hits a boundary at trajectory 2, entry 1 (length 3) at 3; after
  # 5 trajectories 2+2+1+1+2 = 8 >= 7 steps ran.
  assert [t.step_type.tolist() for t in trajs] == [[F, F], [M, M], [L, M], [F, L], [M, F]]
  assert env.action_shapes == [(2,)] * 5
  assert [m.result() for m in metrics[:2]] == [8, 3]
  assert metrics[2].result() == pytest.approx(7 / 3)  # returns 2, 3, 2
  assert metrics[3].result() == pytest.approx(7 / 3)
  assert final.step_type.tolist() == [L, M]
  assert state == "kept"  # batched: the driver never resets the policy state


def test_batched_env_max_episodes_sums_over_entries():
  env = fake_envs.BatchedCountingEnv([2, 2])
  trajs = []
  driver = py_driver.PyDriver(env, _random_policy(env), [trajs.append], max_episodes=3)
  driver.run(env.reset())
  assert len(trajs) == 5  # both entries end at trajectory 1 (2 episodes), again at 4


def test_constructor_validation():
  env = fake_envs.CountingEnv()
  policy = _random_policy(env)
  with pytest.raises(ValueError, match="max_steps or max_episodes"):
    py_driver.PyDriver(env, policy, [])
  with pytest.raises(ValueError, match="max_steps=0"):
    py_driver.PyDriver(env, policy, [], max_steps=0)
  with pytest.raises(ValueError, match="max_episodes"):
    py_driver.PyDriver(env, policy, [], max_episodes=-2)
  with pytest.raises(TypeError, match=r"observers\[1\]"):
    py_driver.PyDriver(env, policy, [print, "not callable"], max_steps=1)
  driver = py_driver.PyDriver(env, policy, None, max_steps=1)
  assert driver.observers == [] and driver.transition_observers == []
  assert driver.env is env and driver.policy is policy

