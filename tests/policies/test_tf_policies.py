"""QPolicy, GreedyPolicy, EpsilonGreedyPolicy, RandomTFPolicy and their numpy forms."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.networks.q_network import QNetwork
from rlrun.networks.sequential import Sequential
from rlrun.policies.epsilon_greedy_policy import EpsilonGreedyPolicy
from rlrun.policies.greedy_policy import GreedyPolicy
from rlrun.policies.numpy_q_policy import NumpyQPolicy
from rlrun.policies.py_tf_eager_policy import PyTFEagerPolicy
from rlrun.policies.q_policy import QPolicy
from rlrun.policies.random_tf_policy import RandomTFPolicy
from rlrun.specs import tensor_spec
from rlrun.trajectories import StepType, TimeStep, restart, time_step_spec

OBS_SPEC = tf.TensorSpec((2,), tf.float32, "obs")
TS_SPEC = time_step_spec(OBS_SPEC)
ACTION_SPEC = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 2, "action")
SHIFTED_SPEC = tensor_spec.BoundedTensorSpec((), tf.int32, 2, 4, "action")
# q = obs @ KERNEL = [x0, x1, -x0]
KERNEL = [[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]
# observations whose argmax is 0, 1, 2, 1
OBS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.5, 2.0]], np.float32)
EXPECTED_ARGMAX = [0, 1, 2, 1]


def _linear_net():
  return Sequential([tf.keras.layers.Dense(
      3, kernel_initializer=tf.keras.initializers.Constant(KERNEL), bias_initializer="zeros")],
                    input_spec=OBS_SPEC)


def _time_step(obs):
  batch = obs.shape[0]
  return TimeStep(tf.fill([batch], StepType.FIRST), tf.zeros([batch]), tf.ones([batch]),
                  tf.constant(obs))


@pytest.fixture(scope="module")
def q_policy():
  return QPolicy(TS_SPEC, ACTION_SPEC, _linear_net())


@pytest.fixture(scope="module")
def random_q_policy():
  net = QNetwork(OBS_SPEC, ACTION_SPEC, fc_layer_params=(6,),
                 kernel_initializer=tf.keras.initializers.GlorotUniform(seed=11),
                 last_kernel_initializer=tf.keras.initializers.RandomUniform(-1.0, 1.0, seed=12))
  return QPolicy(TS_SPEC, ACTION_SPEC, net)


def test_q_policy_distribution_is_softmax_of_q_values(q_policy):
  step = q_policy.distribution(_time_step(OBS))
  q = OBS @ np.array(KERNEL, np.float32)
  expected = np.exp(q) / np.exp(q).sum(axis=1, keepdims=True)
  np.testing.assert_allclose(step.action.probs_parameter().numpy(), expected, rtol=1e-5)
  assert step.state == () and step.info == ()
  sample = q_policy.action(_time_step(OBS)).action
  assert sample.dtype == tf.int64 and sample.shape == (4,)


def test_q_policy_rejects_network_with_wrong_output_size():
  net = Sequential([tf.keras.layers.Dense(2)], input_spec=OBS_SPEC)
  with pytest.raises(ValueError, match="outputs shape \\(2,\\).*3 actions"):
    QPolicy(TS_SPEC, ACTION_SPEC, net)


def test_greedy_action_is_argmax(q_policy):
  greedy = GreedyPolicy(q_policy)
  action = greedy.action(_time_step(OBS)).action
  assert action.dtype == tf.int64
  np.testing.assert_array_equal(action.numpy(), EXPECTED_ARGMAX)
  mode = greedy.distribution(_time_step(OBS)).action.sample()
  np.testing.assert_array_equal(mode.numpy(), EXPECTED_ARGMAX)


def test_greedy_with_shifted_action_spec():
  policy = GreedyPolicy(QPolicy(TS_SPEC, SHIFTED_SPEC, _linear_net()))
  action = policy.action(_time_step(OBS)).action
  assert action.dtype == tf.int32
  np.testing.assert_array_equal(action.numpy(), np.array(EXPECTED_ARGMAX) + 2)
  samples = QPolicy(TS_SPEC, SHIFTED_SPEC, _linear_net()).action(
      _time_step(np.zeros((500, 2), np.float32))).action.numpy()
  assert set(np.unique(samples)) == {2, 3, 4}  # equal q-values: uniform over {2, 3, 4}
  dist = QPolicy(TS_SPEC, SHIFTED_SPEC, _linear_net()).distribution(_time_step(OBS[:1])).action
  # obs [1, 0]: q = [1, 0, -1], action 2 (index 0) is the most likely
  np.testing.assert_allclose(dist.prob(tf.constant([2], tf.int32)).numpy(),
                             [np.exp(1) / (np.exp(1) + 1 + np.exp(-1))], rtol=1e-5)
  numpy_policy = policy.as_numpy_policy()
  np.testing.assert_array_equal(numpy_policy.action(_np_time_step(OBS)).action,
                                np.array(EXPECTED_ARGMAX) + 2)


def test_epsilon_zero_is_greedy(q_policy):
  policy = EpsilonGreedyPolicy(GreedyPolicy(q_policy), epsilon=0.0)
  obs = np.tile(OBS, (50, 1))
  np.testing.assert_array_equal(policy.action(_time_step(obs)).action.numpy(),
                                EXPECTED_ARGMAX * 50)


def test_epsilon_one_explores_every_action(q_policy):
  policy = EpsilonGreedyPolicy(GreedyPolicy(q_policy), epsilon=1.0)
  obs = np.tile(OBS[:1], (300, 1))  # greedy would always pick 0
  actions = policy.action(_time_step(obs)).action.numpy()
  assert actions.dtype == np.int64
  assert set(np.unique(actions)) == {0, 1, 2}


def test_epsilon_as_callable_is_read_at_every_action(q_policy):
  epsilon = tf.Variable(0.0)
  policy = EpsilonGreedyPolicy(GreedyPolicy(q_policy), epsilon=lambda: epsilon)
  obs = np.tile(OBS[:1], (300, 1))
  assert set(np.unique(policy.action(_time_step(obs)).action.numpy())) == {0}
  epsilon.assign(1.0)
  assert set(np.unique(policy.action(_time_step(obs)).action.numpy())) == {0, 1, 2}
  assert callable(policy.epsilon)


def test_random_tf_policy_shape_and_bounds():
  policy = RandomTFPolicy(TS_SPEC, SHIFTED_SPEC)
  action = policy.action(_time_step(np.zeros((400, 2), np.float32))).action
  assert action.shape == (400,) and action.dtype == tf.int32
  assert set(np.unique(action.numpy())) == {2, 3, 4}
  seeded = [policy.action(_time_step(np.zeros((20, 2), np.float32)), seed=(1, 2)).action.numpy()
            for _ in range(2)]
  np.testing.assert_array_equal(seeded[0], seeded[1])
  numpy_policy = policy.as_numpy_policy()
  np_action = numpy_policy.action(_np_time_step(np.zeros((50, 2), np.float32))).action
  assert np_action.shape == (50,) and np_action.min() >= 2 and np_action.max() <= 4


def _np_time_step(obs):
  return restart(obs, batch_size=obs.shape[0])


def test_numpy_policies_match_tf_greedy(random_q_policy):
  greedy = GreedyPolicy(random_q_policy)
  obs = np.random.default_rng(3).normal(size=(64, 2)).astype(np.float32) * 3
  tf_actions = greedy.action(_time_step(obs)).action.numpy()
  assert len(np.unique(tf_actions)) > 1  # the comparison is not trivial
  numpy_greedy = greedy.as_numpy_policy()
  assert isinstance(numpy_greedy, NumpyQPolicy)
  numpy_actions = numpy_greedy.action(_np_time_step(obs)).action
  assert numpy_actions.dtype == np.int64
  np.testing.assert_array_equal(numpy_actions, tf_actions)
  numpy_eps = EpsilonGreedyPolicy(greedy, epsilon=0.0).as_numpy_policy()
  np.testing.assert_array_equal(numpy_eps.action(_np_time_step(obs)).action, tf_actions)
  # an unbatched observation gives an unbatched action
  single = numpy_greedy.action(restart(obs[0])).action
  assert single.shape == () and single == tf_actions[0]


def test_numpy_epsilon_greedy_explores_and_refreshes_schedule(random_q_policy):
  value = [1.0]
  numpy_eps = EpsilonGreedyPolicy(GreedyPolicy(random_q_policy),
                                  epsilon=lambda: value[0]).as_numpy_policy()
  obs = np.zeros((300, 2), np.float32)
  assert set(np.unique(numpy_eps.action(_np_time_step(obs)).action)) == {0, 1, 2}
  value[0] = 0.0
  numpy_eps.update()  # schedules are read at update() time
  assert len(np.unique(numpy_eps.action(_np_time_step(obs)).action)) == 1


@pytest.mark.parametrize("use_tf_function", [False, True])
def test_py_tf_eager_policy_returns_unbatched_numpy(q_policy, use_tf_function):
  policy = PyTFEagerPolicy(GreedyPolicy(q_policy), use_tf_function=use_tf_function)
  assert policy.action_spec.dtype == np.int64 and policy.action_spec.maximum == 2
  assert policy.get_initial_state() == ()
  for obs, expected in zip(OBS, EXPECTED_ARGMAX):
    step = policy.action(restart(obs))
    assert isinstance(step.action, (np.ndarray, np.generic)) and step.action.shape == ()
    assert step.action.dtype == np.int64 and step.action == expected
    assert policy.action_spec.check_array(step.action)
