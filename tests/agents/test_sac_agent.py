"""SacAgent: critic, actor and alpha losses against hand-computed values; training runs."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from rlrun.agents.sac_agent import SacAgent
from rlrun.networks.network import Network
from rlrun.specs import tensor_spec
from rlrun.trajectories import Trajectory, time_step as ts

FIRST, MID, LAST = 0, 1, 2
LOG_PROB_PER_DIM = -0.5
FIXED_ACTION = 0.4


class _ConstantLogProb(tfp.distributions.Deterministic):
  """Always samples `loc`; log_prob is a constant per dimension (a hand-computable actor)."""

  def _log_prob(self, x):
    return tf.fill(tf.shape(x), tf.constant(LOG_PROB_PER_DIM, x.dtype))


class FixedActor(Network):
  def __init__(self, input_tensor_spec, action_spec, name="FixedActor"):
    super().__init__(input_tensor_spec=input_tensor_spec, name=name)
    self._loc = tf.Variable([FIXED_ACTION], dtype=tf.float32)

  def call(self, observation, step_type=None, network_state=(), training=False):
    loc = tf.tile(self._loc[None], [tf.shape(observation)[0], 1])
    return tfp.distributions.Independent(_ConstantLogProb(loc), 1), network_state


class LinearCritic(Network):
  """q(s, a) = 0.5 * (sum(s) + sum(a)) + 0.1."""

  def __init__(self, input_tensor_spec, name="LinearCritic"):
    super().__init__(input_tensor_spec=input_tensor_spec, name=name)
    self._dense = tf.keras.layers.Dense(1, kernel_initializer=tf.keras.initializers.Constant(0.5),
                                        bias_initializer=tf.keras.initializers.Constant(0.1))

  def call(self, inputs, step_type=None, network_state=(), training=False):
    observation, action = inputs
    return tf.squeeze(self._dense(tf.concat([observation, action], -1)), -1), network_state


def make_agent(**kwargs):
  observation_spec = tf.TensorSpec([2], tf.float32, "observation")
  action_spec = tensor_spec.BoundedTensorSpec([1], tf.float32, -1.0, 1.0, "action")
  time_step_spec = ts.time_step_spec(observation_spec)
  adam = lambda: tf.keras.optimizers.Adam(1e-3)
  agent = SacAgent(time_step_spec, action_spec, LinearCritic((observation_spec, action_spec)),
                   FixedActor(observation_spec, action_spec), adam(), adam(), adam(),
                   initial_log_alpha=math.log(2.0), **kwargs)
  agent.initialize()
  return agent


# Items: a transition, a termination (discount 0), an item starting on a boundary.
BATCH = Trajectory(
    step_type=tf.constant([[FIRST, MID], [MID, LAST], [LAST, FIRST]], tf.int32),
    observation=tf.constant([[[1, 2], [0, 1]], [[0, 0], [5, 5]], [[3, 3], [1, 1]]], tf.float32),
    action=tf.constant([[[0.2], [0.0]], [[-1.0], [0.0]], [[1.0], [0.0]]], tf.float32),
    policy_info=(),
    next_step_type=tf.constant([[MID, MID], [LAST, FIRST], [FIRST, MID]], tf.int32),
    reward=tf.constant([[1.0, 0.0], [-1.0, 0.0], [9.0, 0.0]], tf.float32),
    discount=tf.constant([[1.0, 1.0], [0.0, 1.0], [1.0, 1.0]], tf.float32))


def test_critic_loss_is_the_soft_bellman_error_of_both_critics():
  agent = make_agent(gamma=0.99)
  loss, td_error = agent.critic_loss(*agent._transitions(BATCH, None))  # pylint: disable=protected-access
  # Item 0: q(s,a) = 0.5*(3 + 0.2) + 0.1 = 1.7; next q = 0.5*(1 + 0.4) + 0.1 = 0.8;
  #   soft value = 0.8 - alpha(2) * log pi(-0.5) = 1.8; target = 1 + 0.99 * 1.8 = 2.782.
  # Item 1: q = 0.5*(0 - 1) + 0.1 = -0.4; terminated -> target = -1.
  # Item 2: starts on a boundary -> masked. Both critics are equal, so each error counts twice.
  expected = (2 * 1.082 ** 2 + 2 * 0.6 ** 2 + 0) / 3
  assert float(loss) == pytest.approx(expected, rel=1e-5)
  np.testing.assert_allclose(td_error.numpy(), [1.082, -0.6, 0.0], rtol=1e-5, atol=1e-6)


def test_actor_loss_trades_entropy_against_q():
  agent = make_agent()
  observation, _, _, _, _, valid, weights = agent._transitions(BATCH, None)  # pylint: disable=protected-access
  loss, log_prob, _ = agent.actor_loss(observation, valid, weights)
  # alpha * log pi - q(s, 0.4): item 0: -1 - 1.8 = -2.8; item 1: -1 - 0.3 = -1.3; item 2 masked.
  assert float(loss) == pytest.approx((-2.8 - 1.3) / 3, rel=1e-5)
  np.testing.assert_allclose(log_prob.numpy(), [-0.5] * 3)


def test_alpha_loss_targets_minus_action_dim_entropy():
  agent = make_agent()
  _, _, _, _, _, valid, weights = agent._transitions(BATCH, None)  # pylint: disable=protected-access
  loss = agent.alpha_loss(tf.fill([3], -0.5), valid, weights)
  # -log(alpha) * (log pi + target entropy) = -ln 2 * (-0.5 - 1) on the 2 valid items.
  assert float(loss) == pytest.approx(2 * 1.5 * math.log(2.0) / 3, rel=1e-5)


def test_train_updates_all_parts_and_targets_slowly():
  agent = make_agent(target_update_tau=0.5)
  critic_before = [v.numpy().copy() for v in agent.critic_networks[0].trainable_variables]
  target_before = [v.numpy().copy() for v in agent.target_critic_networks[0].trainable_variables]
  alpha_before = float(agent.log_alpha.numpy())
  loss_info = tf.function(agent.train, jit_compile=True)(BATCH)
  assert agent.train_step_counter.numpy() == 1
  critic_after = [v.numpy() for v in agent.critic_networks[0].trainable_variables]
  target_after = [v.numpy() for v in agent.target_critic_networks[0].trainable_variables]
  for before, after, target_old, target_new in zip(critic_before, critic_after, target_before,
                                                   target_after):
    assert not np.allclose(before, after)
    np.testing.assert_allclose(target_new, 0.5 * after + 0.5 * target_old, rtol=1e-5)
  # Entropy (0.5) is above the target (-1): alpha goes down.
  assert float(agent.log_alpha.numpy()) < alpha_before
  assert set(loss_info.extra._fields) >= {"critic_loss", "actor_loss", "alpha_loss", "alpha",
                                          "entropy", "q_value"}
  assert np.isfinite(float(loss_info.loss))


def test_policies_are_greedy_for_eval_and_stochastic_for_collection():
  agent = make_agent()
  assert type(agent.policy).__name__ == "GreedyPolicy"
  assert type(agent.collect_policy).__name__ == "ActorPolicy"
  time_step = ts.restart(tf.zeros([3, 2]), batch_size=3)
  np.testing.assert_allclose(agent.policy.action(time_step).action.numpy(), [[0.4]] * 3)


def test_discrete_action_spec_is_rejected():
  observation_spec = tf.TensorSpec([2], tf.float32)
  action_spec = tensor_spec.BoundedTensorSpec([], tf.int64, 0, 1)
  with pytest.raises(ValueError, match="continuous action spec"):
    SacAgent(ts.time_step_spec(observation_spec), action_spec, None, None, 1, 1, 1)
