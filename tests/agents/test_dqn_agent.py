"""DqnAgent: the TD loss against hand-computed values, n-step, double-Q, target updates."""


import numpy as np
import pytest
import tensorflow as tf

from rlrun.agents.dqn_agent import DqnAgent
from rlrun.networks.sequential import Sequential
from rlrun.specs import array_spec, tensor_spec
from rlrun.trajectories import Trajectory, time_step as ts
from rlrun.utils.losses import element_wise_huber_loss, element_wise_squared_loss

FIRST, MID, LAST = 0, 1, 2
# tf.constant_initializer (array values) is not a Keras initializer; copying works anyway.
pytestmark = pytest.mark.filterwarnings("ignore:The `keras.initializers.serialize")
KERNEL = np.array([[1.0, 2.0], [3.0, 5.0]], np.float32)
BIAS = np.array([0.5, -0.5], np.float32)


def q_values(observation):
  """The Q-network below, by hand: a single linear layer."""
  return np.asarray(observation, np.float32) @ KERNEL + BIAS


def make_agent(**kwargs):
  observation_spec = array_spec.BoundedArraySpec((2,), np.float32, -10, 10, "observation")
  action_spec = array_spec.BoundedArraySpec((), np.int64, 0, 1, "action")
  time_step_spec = tensor_spec.from_spec(ts.time_step_spec(observation_spec))
  q_net = Sequential([tf.keras.layers.Dense(
      2, kernel_initializer=tf.constant_initializer(KERNEL),
      bias_initializer=tf.constant_initializer(BIAS))])
  kwargs.setdefault("td_errors_loss_fn", element_wise_squared_loss)
  agent = DqnAgent(time_step_spec, tensor_spec.from_spec(action_spec), q_net,
                   tf.keras.optimizers.SGD(0.01), **kwargs)
  agent.initialize()
  return agent


def experience(step_type, observation, action, next_step_type, reward, discount):
  return Trajectory(step_type=tf.constant(step_type, tf.int32),
                    observation=tf.constant(observation, tf.float32),
                    action=tf.constant(action, tf.int64), policy_info=(),
                    next_step_type=tf.constant(next_step_type, tf.int32),
                    reward=tf.constant(reward, tf.float32),
                    discount=tf.constant(discount, tf.float32))


# One batch of four [2-step] items: a mid-episode transition, a termination, an item
# starting on a boundary (masked), and a time-limit truncation (bootstraps).
OBS = [[[1, 0], [0, 1]], [[0, 1], [1, 1]], [[1, 1], [0, 0]], [[0, 1], [1, 0]]]
BATCH = dict(step_type=[[FIRST, MID], [MID, LAST], [LAST, FIRST], [MID, LAST]],
             observation=OBS, action=[[0, 0], [1, 0], [0, 0], [1, 0]],
             next_step_type=[[MID, MID], [LAST, FIRST], [FIRST, MID], [LAST, FIRST]],
             reward=[[1.0, 0.0], [2.0, 0.0], [7.0, 0.0], [3.0, 0.0]],
             discount=[[1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [1.0, 1.0]])


def test_one_step_td_loss_matches_hand_computation():
  gamma = 0.9
  agent = make_agent(gamma=gamma)
  loss_info = agent.loss(experience(**BATCH))
  # Item 0: q([1,0]) = [1.5, 1.5], action 0 -> 1.5; max q([0,1]) = max(3.5, 4.5) = 4.5.
  # Item 1: q([0,1])[1] = 4.5; terminated (discount 0) -> target 2.
  # Item 2: starts on a boundary -> masked out.
  # Item 3: q([0,1])[1] = 4.5; truncated (discount 1) -> 3 + 0.9 * max q([1,0]) = 4.35.
  td_errors = np.array([1 + 0.9 * 4.5 - 1.5, 2.0 - 4.5, 0.0, 3 + 0.9 * 1.5 - 4.5], np.float32)
  np.testing.assert_allclose(loss_info.extra.td_error.numpy(), td_errors, rtol=1e-6)
  np.testing.assert_allclose(loss_info.loss.numpy(), np.mean(td_errors ** 2), rtol=1e-6)
  assert loss_info.loss.numpy() == pytest.approx((3.55 ** 2 + 2.5 ** 2 + 0.15 ** 2) / 4, rel=1e-5)


def test_loss_uses_generic_q_values_and_huber():
  agent = make_agent(gamma=0.5, td_errors_loss_fn=element_wise_huber_loss, reward_scale_factor=2.0)
  obs = np.asarray(OBS, np.float32)
  rewards = np.asarray(BATCH["reward"], np.float32)[:, 0] * 2.0
  q_taken = q_values(obs[:, 0])[np.arange(4), np.asarray(BATCH["action"])[:, 0]]
  bootstrap = 0.5 * np.asarray(BATCH["discount"], np.float32)[:, 0] * q_values(obs[:, 1]).max(-1)
  error = (rewards + bootstrap - q_taken) * np.array([1, 1, 0, 1])
  huber = np.where(np.abs(error) <= 1, 0.5 * error ** 2, np.abs(error) - 0.5)
  np.testing.assert_allclose(agent.loss(experience(**BATCH)).loss.numpy(), huber.mean(), rtol=1e-5)


def test_reward_clipping_bounds_the_rewards_in_the_loss():
  clipped = make_agent(gamma=0.9, reward_clipping=1.0)
  batch = dict(BATCH, reward=[[5.0, 0.0], [-3.0, 0.0], [7.0, 0.0], [0.5, 0.0]])
  same = dict(BATCH, reward=[[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [0.5, 0.0]])
  np.testing.assert_allclose(clipped.loss(experience(**batch)).extra.td_error.numpy(),
                             make_agent(gamma=0.9).loss(experience(**same)).extra.td_error.numpy())
  with pytest.raises(ValueError, match="reward_clipping must be > 0"):
    make_agent(reward_clipping=0.0)


def test_n_step_returns_stop_at_episode_end():
  agent = make_agent(gamma=0.5, n_step_update=2)
  assert agent.train_sequence_length == 3
  batch = experience(
      step_type=[[FIRST, MID, MID], [MID, LAST, FIRST], [MID, LAST, FIRST]],
      observation=[[[1, 0], [0, 1], [1, 1]], [[1, 0], [0, 1], [1, 1]], [[1, 0], [0, 1], [1, 1]]],
      action=[[0, 0, 0], [0, 0, 0], [0, 0, 0]],
      next_step_type=[[MID, MID, MID], [LAST, FIRST, MID], [LAST, FIRST, MID]],
      reward=[[1.0, 2.0, 0.0], [1.0, 9.0, 0.0], [1.0, 9.0, 0.0]],
      discount=[[1.0, 1.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
  td_error = agent.loss(batch).extra.td_error.numpy()
  q0 = q_values([1, 0])[0]
  expected = [1 + 0.5 * 2 + 0.25 * q_values([1, 1]).max() - q0,  # two rewards, bootstrap s2
              1 - q0,                                          # terminated after one step
              1 + 0.5 * q_values([0, 1]).max() - q0]           # truncated: bootstrap s1
  np.testing.assert_allclose(td_error, expected, rtol=1e-5)


def test_double_q_picks_action_with_online_net_and_values_with_target():
  agent = make_agent(gamma=1.0, double_q=True)
  target_kernel = agent.target_q_network.trainable_variables[0]
  target_kernel.assign([[1.0, 2.0], [9.0, 1.0]])  # target prefers action 0 on [0, 1]
  batch = experience(step_type=[[FIRST, MID]], observation=[[[1, 0], [0, 1]]], action=[[0, 0]],
                     next_step_type=[[MID, MID]], reward=[[0.0, 0.0]], discount=[[1.0, 1.0]])
  # Online q([0,1]) = [3.5, 4.5] -> action 1; target q([0,1])[1] = 1 - 0.5 = 0.5.
  np.testing.assert_allclose(agent.loss(batch).extra.td_error.numpy(), [0.5 - 1.5], rtol=1e-6)
  plain = make_agent(gamma=1.0)
  plain.target_q_network.trainable_variables[0].assign([[1.0, 2.0], [9.0, 1.0]])
  # Plain DQN takes the target's own max: q([0,1]) = [9.5, 0.5] -> 9.5.
  np.testing.assert_allclose(plain.loss(batch).extra.td_error.numpy(), [9.5 - 1.5], rtol=1e-6)


def test_train_counts_steps_and_updates_target_every_period():
  agent = make_agent(target_update_period=2)
  batch = experience(**BATCH)
  online, target = agent.q_network.trainable_variables, agent.target_q_network.trainable_variables
  before = [v.numpy().copy() for v in target]
  agent.train(batch)
  assert agent.train_step_counter.numpy() == 1
  assert all(np.array_equal(b, t.numpy()) for b, t in zip(before, target))
  assert not np.array_equal(online[0].numpy(), target[0].numpy())
  agent.train(batch)
  assert agent.train_step_counter.numpy() == 2
  assert all(np.array_equal(o.numpy(), t.numpy()) for o, t in zip(online, target))


def test_train_is_xla_compilable_and_reduces_loss():
  agent = make_agent(gamma=0.0)
  batch = experience(**BATCH)
  train = tf.function(agent.train, jit_compile=True)
  first = float(agent.loss(batch).loss)
  for _ in range(50):
    train(batch)
  assert float(agent.loss(batch).loss) < first / 2
  assert agent.train_step_counter.numpy() == 50


def test_epsilon_schedule_reads_the_train_step():
  from rlrun.utils.schedules import linear_decay
  agent = make_agent(epsilon_greedy=lambda step: linear_decay(step, 1.0, 0.0, 10))
  time_step = ts.restart(tf.zeros([200, 2]), batch_size=200)
  greedy = agent.policy.action(time_step).action.numpy()
  # At step 0 epsilon is 1: about half the random actions differ from the greedy one.
  random_share = np.mean(agent.collect_policy.action(time_step).action.numpy() != greedy)
  assert 0.3 < random_share < 0.7
  agent.train_step_counter.assign(10)
  assert np.array_equal(agent.collect_policy.action(time_step).action.numpy(), greedy)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_step_update=0), "n_step_update"),
    (dict(target_update_tau=0.0), "target_update_tau"),
    (dict(target_update_period=0), "target_update_period"),
])
def test_bad_arguments_are_rejected_with_the_value(kwargs, message):
  with pytest.raises(ValueError, match=message):
    make_agent(**kwargs)


def test_continuous_action_spec_is_rejected():
  observation_spec = tensor_spec.from_spec(array_spec.ArraySpec((2,), np.float32, "observation"))
  action_spec = tensor_spec.BoundedTensorSpec((), tf.float32, -1.0, 1.0, "action")
  with pytest.raises(ValueError, match="scalar integer action spec"):
    DqnAgent(ts.time_step_spec(observation_spec), action_spec, Sequential([
        tf.keras.layers.Dense(2)]), tf.keras.optimizers.SGD(0.1))
