"""TimeStep constructors, step-type predicates, Trajectory helpers and to_transition."""

import numpy as np
import tensorflow as tf

from rlrun.trajectories import (PolicyStep, StepType, TimeStep, Trajectory, from_transition,
                                restart, termination, time_step as ts, to_transition, transition,
                                truncation)

OBS = np.array([1.0, 2.0], np.float32)


def test_restart():
  step = restart(OBS)
  assert step.step_type == StepType.FIRST and step.step_type.dtype == np.int32
  assert step.reward == 0.0 and step.reward.dtype == np.float32
  assert step.discount == 1.0 and step.discount.dtype == np.float32
  assert step.observation is OBS
  assert step.is_first() and not step.is_mid() and not step.is_last()


def test_batched_restart():
  obs = np.zeros((3, 2), np.float32)
  step = restart(obs, batch_size=3)
  np.testing.assert_array_equal(step.step_type, [0, 0, 0])
  assert step.reward.shape == (3,) and step.discount.shape == (3,)
  np.testing.assert_array_equal(step.discount, [1.0, 1.0, 1.0])
  np.testing.assert_array_equal(step.is_first(), [True, True, True])


def test_transition_termination_truncation():
  mid = transition(OBS, reward=0.5, discount=0.9)
  assert mid.step_type == StepType.MID and mid.reward == np.float32(0.5)
  assert mid.discount == np.float32(0.9) and mid.is_mid()
  end = termination(OBS, reward=2.0)
  assert end.step_type == StepType.LAST and end.reward == 2.0 and end.discount == 0.0
  assert end.is_last() and not end.is_first()
  cut = truncation(OBS, reward=3.0)
  assert cut.step_type == StepType.LAST and cut.reward == 3.0 and cut.discount == 1.0
  assert cut.is_last()


def test_batched_termination_and_transition_follow_reward_shape():
  end = termination(np.zeros((2, 1)), reward=[1.0, 2.0])
  np.testing.assert_array_equal(end.step_type, [2, 2])
  np.testing.assert_array_equal(end.discount, [0.0, 0.0])
  mid = transition(np.zeros((2, 1)), reward=[1.0, 2.0])
  np.testing.assert_array_equal(mid.step_type, [1, 1])
  np.testing.assert_array_equal(mid.discount, [1.0, 1.0])


def test_predicates_on_numpy_and_tensors():
  types = np.array([0, 1, 2, 2], np.int32)
  step = TimeStep(types, np.zeros(4, np.float32), np.ones(4, np.float32), np.zeros(4))
  np.testing.assert_array_equal(step.is_first(), [True, False, False, False])
  np.testing.assert_array_equal(step.is_mid(), [False, True, False, False])
  np.testing.assert_array_equal(step.is_last(), [False, False, True, True])
  tf_step = TimeStep(tf.constant(types), tf.zeros(4), tf.ones(4), tf.zeros(4))
  first = tf_step.is_first()
  assert isinstance(first, tf.Tensor) and first.dtype == tf.bool
  np.testing.assert_array_equal(first.numpy(), [True, False, False, False])
  np.testing.assert_array_equal(tf_step.is_last().numpy(), [False, False, True, True])


def test_time_step_spec_numpy_and_tensor():
  from rlrun.specs import array_spec
  spec = ts.time_step_spec(array_spec.ArraySpec((2,), np.float32))
  assert spec.step_type.dtype == np.int32 and spec.discount.maximum == 1.0
  tf_spec = ts.time_step_spec(tf.TensorSpec((2,), tf.float32))
  assert tf_spec.step_type.dtype == tf.int32 and tf_spec.reward.dtype == tf.float32


def _traj(step_type, next_step_type, **kw):
  fields = dict(observation=np.float32(0), action=np.int32(0), policy_info=(),
                reward=np.float32(0), discount=np.float32(1))
  fields.update(kw)
  return Trajectory(step_type=np.asarray(step_type, np.int32),
                    next_step_type=np.asarray(next_step_type, np.int32), **fields)


def test_trajectory_predicates():
  first = _traj(StepType.FIRST, StepType.MID)
  mid = _traj(StepType.MID, StepType.MID)
  last = _traj(StepType.MID, StepType.LAST)
  boundary = _traj(StepType.LAST, StepType.FIRST)
  assert first.is_first() and not first.is_last() and not first.is_mid()
  assert mid.is_mid() and not mid.is_boundary()
  assert last.is_last() and not last.is_boundary() and not last.is_mid()
  assert boundary.is_boundary() and not boundary.is_last()
  batched = Trajectory(tf.constant([0, 1, 2]), tf.zeros(3), tf.zeros(3, tf.int32), (),
                       tf.constant([1, 2, 0]), tf.zeros(3), tf.ones(3))
  np.testing.assert_array_equal(batched.is_boundary().numpy(), [False, False, True])
  np.testing.assert_array_equal(batched.is_last().numpy(), [False, True, False])
  np.testing.assert_array_equal(batched.is_mid().numpy(), [False, False, False])


def test_from_transition():
  t0 = restart(np.float32(1.0))
  t1 = termination(np.float32(2.0), reward=5.0)
  traj = from_transition(t0, PolicyStep(np.int32(1), (), {"q": 3}), t1)
  assert traj.step_type == StepType.FIRST and traj.next_step_type == StepType.LAST
  assert traj.observation == 1.0  # the earlier observation
  assert traj.action == 1 and traj.policy_info == {"q": 3}
  assert traj.reward == 5.0 and traj.discount == 0.0  # from the later time step
  assert traj.is_last()


def test_to_transition_on_a_batch_of_three_steps():
  # B=2, T=3: step types FIRST, MID, LAST for row 0; MID, MID, MID for row 1.
  traj = Trajectory(
      step_type=tf.constant([[0, 1, 1], [1, 1, 1]]),
      observation=tf.constant([[[10.0], [11.0], [12.0]], [[20.0], [21.0], [22.0]]]),
      action=tf.constant([[0, 1, 0], [1, 1, 0]]),
      policy_info=(),
      next_step_type=tf.constant([[1, 1, 2], [1, 1, 1]]),
      reward=tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
      discount=tf.constant([[1.0, 0.5, 0.0], [1.0, 1.0, 0.9]]))
  time_steps, action_steps, next_time_steps = to_transition(traj)
  assert time_steps.observation.shape == (2, 2, 1)  # T-1 steps
  np.testing.assert_array_equal(time_steps.step_type.numpy(), [[0, 1], [1, 1]])
  np.testing.assert_array_equal(time_steps.observation.numpy()[..., 0], [[10, 11], [20, 21]])
  np.testing.assert_array_equal(time_steps.reward.numpy(), np.zeros((2, 2)))
  np.testing.assert_array_equal(time_steps.discount.numpy(), np.ones((2, 2)))
  np.testing.assert_array_equal(action_steps.action.numpy(), [[0, 1], [1, 1]])
  assert action_steps.state == ()
  np.testing.assert_array_equal(next_time_steps.step_type.numpy(), [[1, 1], [1, 1]])
  np.testing.assert_array_equal(next_time_steps.reward.numpy(), [[1, 2], [4, 5]])
  np.testing.assert_array_equal(next_time_steps.discount.numpy(), [[1.0, 0.5], [1.0, 1.0]])
  np.testing.assert_array_equal(next_time_steps.observation.numpy()[..., 0], [[11, 12], [21, 22]])


def test_reprs():
  assert repr(PolicyStep(1)) == "PolicyStep(action=1, state=(), info=())"
  text = repr(restart(np.float32(0.0)))
  assert text.startswith("TimeStep(\n{") and "'step_type': array(0, dtype=int32)" in text
