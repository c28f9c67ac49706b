"""PpoAgent: GAE and the clipped surrogate against hand-computed values; one update on a rollout."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.agents.ppo_agent import PpoAgent, clipped_surrogate, generalized_advantages
from rlrun.networks.actor_distribution_network import ActorDistributionNetwork
from rlrun.networks.projection_networks import (NormalProjectionNetwork,
                                                StateDependentNormalProjectionNetwork)
from rlrun.networks.value_network import ValueNetwork
from rlrun.policies.stochastic_policy import LogProbInfo
from rlrun.specs import tensor_spec
from rlrun.trajectories import StepType, Trajectory, time_step as ts

OBSERVATION = tf.TensorSpec([3], tf.float32, "observation")
DISCRETE = tensor_spec.BoundedTensorSpec([], tf.int64, 0, 1, "action")
CONTINUOUS = tensor_spec.BoundedTensorSpec([2], tf.float32, -1.0, 1.0, "action")

REWARDS = [[1.0, 2.0, 3.0, 4.0]]
VALUES = [[10.0, 20.0, 30.0, 40.0, 50.0]]  # the fifth bootstraps the rollout's end


def gae(discounts, ends):
  return generalized_advantages(REWARDS, [discounts], VALUES, [ends], gamma=0.5,
                                lambda_=0.5).numpy()[0]


def test_gae_bootstraps_the_rollout_end_from_the_last_value():
  # deltas: 1 + 10 - 10 = 1, 2 + 15 - 20 = -3, 3 + 20 - 30 = -7, 4 + 25 - 40 = -11
  # A_t = delta_t + 0.25 A_{t+1}, backwards from A_3 = delta_3 (V_4 = 50 bootstraps it).
  np.testing.assert_allclose(gae([1, 1, 1, 1], [0, 0, 0, 0]),
                             [-0.359375, -5.4375, -9.75, -11.0], rtol=1e-6)


def test_gae_stops_at_a_termination_without_bootstrapping():
  # The episode terminates after step 1 (discount 0): delta_1 = 2 - 20 = -18, A_1 = -18.
  np.testing.assert_allclose(gae([1, 0, 1, 1], [0, 1, 0, 0]), [-3.5, -18.0, -9.75, -11.0],
                             rtol=1e-6)


def test_gae_bootstraps_a_truncation_from_the_final_observation():
  # Truncated after step 1 (discount kept): delta_1 = -3 uses V_2, the final observation's
  # value, but the next episode's advantages do not flow back: A_1 = -3, A_0 = 1 - 0.75.
  np.testing.assert_allclose(gae([1, 1, 1, 1], [0, 1, 0, 0]), [0.25, -3.0, -9.75, -11.0],
                             rtol=1e-6)


def test_the_clipped_surrogate_takes_the_pessimistic_term():
  ratio = np.array([1.5, 0.5, 0.5, 1.5, 1.1], np.float32)
  advantage = np.array([2.0, 2.0, -2.0, -2.0, 1.0], np.float32)
  loss = clipped_surrogate(np.log(ratio), np.zeros(5, np.float32), advantage, 0.2).numpy()
  # min(1.5*2, 1.2*2), min(0.5*2, 0.8*2), min(-1, -1.6), min(-3, -2.4), min(1.1, 1.2)
  np.testing.assert_allclose(loss, [-2.4, -1.0, 1.6, 3.0, -1.1], rtol=1e-6)


def make_agent(action_spec, projection_net=NormalProjectionNetwork, **kwargs):
  projection = dict(continuous_projection_net=projection_net)
  actor = ActorDistributionNetwork(OBSERVATION, action_spec, fc_layer_params=(8,), **projection)
  value = ValueNetwork(OBSERVATION, fc_layer_params=(8,))
  agent = PpoAgent(ts.time_step_spec(OBSERVATION), action_spec, actor, value,
                   tf.keras.optimizers.Adam(1e-2), **kwargs)
  agent.initialize()
  return agent


def rollout(agent, envs=2, steps=4, seed=0):
  """A [envs, steps + 1] rollout collected by the agent's collect policy from random observations;
  env 0's episode ends (terminates) after step 1, so step 2 is a boundary."""
  rng = np.random.default_rng(seed)
  observation = rng.normal(size=(envs, steps + 1, 3)).astype(np.float32)
  step_type = np.full((envs, steps + 1), StepType.MID, np.int32)
  next_step_type = np.full((envs, steps + 1), StepType.MID, np.int32)
  step_type[:, 0] = StepType.FIRST
  next_step_type[0, 1], step_type[0, 2], next_step_type[0, 2], step_type[0, 3] = (
      StepType.LAST, StepType.LAST, StepType.FIRST, StepType.FIRST)
  discount = np.ones((envs, steps + 1), np.float32)
  discount[0, 1] = 0.0
  time_step = ts.TimeStep(tf.constant(step_type.reshape(-1)), tf.zeros(envs * (steps + 1)),
                          tf.constant(discount.reshape(-1)),
                          tf.constant(observation.reshape(-1, 3)))
  step = agent.collect_policy.action(time_step)
  reshape = lambda x: tf.reshape(x, [envs, steps + 1] + x.shape[1:].as_list())
  return Trajectory(step_type=tf.constant(step_type), observation=tf.constant(observation),
                    action=reshape(step.action), policy_info=tf.nest.map_structure(reshape, step.info),
                    next_step_type=tf.constant(next_step_type),
                    reward=tf.constant(rng.normal(size=(envs, steps + 1)), tf.float32),
                    discount=tf.constant(discount))


GSDE = (CONTINUOUS, StateDependentNormalProjectionNetwork)
SPECS = pytest.mark.parametrize("action_spec,projection_net", [
    (DISCRETE, NormalProjectionNetwork), (CONTINUOUS, NormalProjectionNetwork), GSDE],
    ids=["discrete", "continuous", "gsde"])


@SPECS
def test_one_update_moves_the_policy_within_the_clip_and_counts_one_train_step(action_spec,
                                                                              projection_net):
  agent = make_agent(action_spec, projection_net, num_epochs=3, minibatch_size=4)
  experience = rollout(agent)
  before = [v.numpy() for v in agent.actor_network.trainable_variables]
  loss_info = agent.train(experience)
  assert int(agent.train_step_counter.numpy()) == 1
  assert np.isfinite(loss_info.loss.numpy())
  assert all(np.any(b != a.numpy()) for b, a in zip(before, agent.actor_network.trainable_variables))
  assert 0.0 <= float(loss_info.extra.clip_fraction) <= 1.0
  assert float(loss_info.extra.approx_kl) >= 0.0


def test_the_collect_policy_records_the_log_prob_of_its_unclipped_sample():
  agent = make_agent(CONTINUOUS)
  agent.actor_network.projection_network.log_std.assign([1.0, 1.0])  # samples leave [-1, 1]
  observation = tf.random.normal([64, 3], seed=1)
  step = agent.collect_policy.action(ts.restart(observation, batch_size=64))
  assert isinstance(step.info, LogProbInfo)
  assert np.all(np.abs(step.action.numpy()) <= 1.0)
  assert np.any(np.abs(step.info.sample.numpy()) > 1.0)
  distribution, _ = agent.actor_network(observation)
  np.testing.assert_allclose(step.info.log_prob.numpy(),
                             distribution.log_prob(step.info.sample).numpy(), rtol=1e-5)


@SPECS
def test_the_numpy_collect_policy_records_the_same_log_probs_as_tensorflow(action_spec,
                                                                          projection_net):
  agent = make_agent(action_spec, projection_net)
  numpy_policy = agent.collect_policy.as_numpy_policy()
  assert numpy_policy is not None
  observation = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
  step = numpy_policy.action(ts.restart(observation, batch_size=32))
  distribution, _ = agent.actor_network(tf.constant(observation))
  np.testing.assert_allclose(step.info.log_prob,
                             distribution.log_prob(step.info.sample).numpy(), rtol=1e-4, atol=1e-5)


def test_a_minibatch_that_does_not_divide_the_rollout_is_refused():
  agent = make_agent(DISCRETE, minibatch_size=3)
  with pytest.raises(ValueError, match="minibatch size 3 does not divide the rollout of 8"):
    agent.train(rollout(agent))


def test_linear_decay_lowers_the_learning_rate_with_the_train_step():
  agent = make_agent(DISCRETE, linear_decay_steps=4, num_epochs=1)
  experience = rollout(agent)
  agent.train(experience)  # at step 0: the full rate
  np.testing.assert_allclose(agent._optimizer.learning_rate.numpy(), 1e-2)  # pylint: disable=protected-access
  agent.train(experience)  # at step 1: 3/4 of it
  np.testing.assert_allclose(agent._optimizer.learning_rate.numpy(), 0.75e-2)  # pylint: disable=protected-access


def test_a_squashed_continuous_actor_is_refused():
  actor = ActorDistributionNetwork(OBSERVATION, CONTINUOUS, fc_layer_params=(8,))  # tanh-normal
  with pytest.raises(ValueError, match="needs networks.NormalProjectionNetwork"):
    PpoAgent(ts.time_step_spec(OBSERVATION), CONTINUOUS, actor,
             ValueNetwork(OBSERVATION, fc_layer_params=(8,)), tf.keras.optimizers.Adam())


def test_normalized_rewards_change_the_value_targets_and_are_checkpointed(tmp_path):
  plain, normalized = make_agent(DISCRETE), make_agent(DISCRETE, normalize_rewards=True)
  normalized.value_network.set_weights(plain.value_network.get_weights())
  experience = rollout(plain)
  experience = experience._replace(reward=experience.reward * 100.0)
  _, plain_returns, values = plain.advantages(experience)
  _, scaled_returns, _ = normalized.advantages(experience)
  # The same values, rewards a hundred times their spread smaller: targets near the values.
  assert np.max(np.abs(scaled_returns - values)) < 0.1 * np.max(np.abs(plain_returns - values))
  path = tf.train.Checkpoint(agent=normalized).write(str(tmp_path / "ckpt"))
  fresh = make_agent(DISCRETE, normalize_rewards=True)
  tf.train.Checkpoint(agent=fresh).read(path)
  assert fresh._reward_normalizer.count.numpy() == normalized._reward_normalizer.count.numpy() > 0


def test_a_normalized_update_compiles_with_xla():
  agent = make_agent(CONTINUOUS, normalize_rewards=True, num_epochs=2, minibatch_size=4)
  experience = rollout(agent)
  loss_info = tf.function(agent.train, jit_compile=True, autograph=False)(experience)
  assert np.isfinite(loss_info.loss.numpy())
  assert agent._reward_normalizer.count.numpy() == 8 - 1  # 2 x 4 steps, one of them a reset
