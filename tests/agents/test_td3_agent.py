"""Td3Agent: the critic loss and target smoothing against hand-computed values, the actor delay."""

import numpy as np
import tensorflow as tf

from rlrun.agents.td3_agent import Td3Agent
from rlrun.networks.actor_network import ActorNetwork
from rlrun.networks.network import Network
from rlrun.policies.numpy_actor_policy import NumpyDeterministicActorPolicy
from rlrun.specs import tensor_spec
from rlrun.trajectories import Trajectory, restart, time_step as ts

OBSERVATION = tf.TensorSpec([2], tf.float32, "observation")
ACTION = tensor_spec.BoundedTensorSpec([1], tf.float32, -2.0, 2.0, "action")  # half range 2


class ConstantCritic(Network):
  """Q(s, a) = bias + slope * sum(a) (the copies get their own bias variable).

  `slope` is a plain number (not trained): 0 makes Q hand-computable, and a non-zero
  slope gives the actor a real gradient.
  """

  def __init__(self, input_tensor_spec, slope=0.0, name="ConstantCritic"):
    super().__init__(input_tensor_spec=input_tensor_spec, name=name)
    self.bias = tf.Variable(0.0)
    self.slope = slope

  def call(self, inputs, step_type=None, network_state=(), training=False):
    observation, action = inputs
    q = (0.0 * tf.reduce_sum(observation, -1) + self.slope * tf.reduce_sum(action, -1) +
         self.bias)
    return q, network_state


def make_agent(slope=0.0, **kwargs):
  adam = lambda: tf.keras.optimizers.Adam(1e-2)
  actor = ActorNetwork(OBSERVATION, ACTION, fc_layer_params=(8,))
  critic = ConstantCritic((OBSERVATION, ACTION), slope=slope)
  agent = Td3Agent(ts.time_step_spec(OBSERVATION), ACTION, actor, critic, adam(), adam(), **kwargs)
  agent.initialize()
  return agent


def experience(batch=4):
  observation = np.arange(batch * 2 * 2, dtype=np.float32).reshape(batch, 2, 2) / 10
  return Trajectory(step_type=tf.constant([[0, 1]] * batch), observation=tf.constant(observation),
                    action=tf.constant(np.full((batch, 2, 1), 0.5, np.float32)), policy_info=(),
                    next_step_type=tf.constant([[1, 1]] * batch),
                    reward=tf.constant(np.tile([[1.0, 0.0]], (batch, 1)), tf.float32),
                    discount=tf.constant(np.tile([[0.5, 1.0]], (batch, 1)), tf.float32))


def test_the_critic_loss_targets_the_smaller_target_critic():
  agent = make_agent(gamma=0.9)
  critic_1, critic_2 = agent.critic_networks
  target_1, target_2 = agent._target_critic_network_1, agent._target_critic_network_2  # pylint: disable=protected-access
  for network, bias in ((critic_1, 1.0), (critic_2, -1.0), (target_1, 3.0), (target_2, 2.0)):
    network.bias.assign(bias)
  trajectory = experience()
  loss, td_error = agent.critic_loss(
      trajectory.observation[:, 0], trajectory.action[:, 0], trajectory.reward[:, 0],
      trajectory.discount[:, 0], trajectory.observation[:, 1], tf.ones([4]), tf.constant([1, 2]))
  target = 1.0 + 0.9 * 0.5 * min(3.0, 2.0)  # r + gamma * d * min(Q'1, Q'2) = 1.9
  assert np.isclose(loss.numpy(), (target - 1.0) ** 2 + (target + 1.0) ** 2)
  np.testing.assert_allclose(td_error.numpy(), [target - 1.0] * 4, rtol=1e-6)


def test_the_critic_target_takes_the_smoothed_target_action():
  # Target critics that rise with the action (Q' = bias + a'), so the smoothed action
  # enters the target: a' = clip(mu'(s') + clip(noise, -0.5, 0.5), -2, 2), with the noise
  # the N(0, 0.3 * half range 2) draw of the agent's (seed, train step) stream.
  agent = make_agent(slope=1.0, gamma=0.9, target_policy_noise=0.3,
                     target_policy_noise_clip=0.25)
  critic_1, critic_2 = agent.critic_networks
  target_1, target_2 = agent._target_critic_network_1, agent._target_critic_network_2  # pylint: disable=protected-access
  for network, bias in ((critic_1, 1.0), (critic_2, -1.0), (target_1, 3.0), (target_2, 2.0)):
    network.bias.assign(bias)
  trajectory = experience(batch=64)
  seed = tf.constant([7, 3])
  next_observation = trajectory.observation[:, 1]
  clean = agent._target_actor_network(next_observation)[0].numpy()  # pylint: disable=protected-access
  noise = tf.random.stateless_normal(clean.shape, seed).numpy() * 0.6
  clipped = np.clip(noise, -0.5, 0.5)
  assert 0 < np.mean(clipped != noise) < 1  # both sides of the clip are exercised
  smoothed = np.clip(clean + clipped, -2.0, 2.0)[:, 0]
  target = 1.0 + 0.9 * 0.5 * np.minimum(3.0 + smoothed, 2.0 + smoothed)  # r + g * d * min Q'
  q_1, q_2 = 1.0 + 0.5, -1.0 + 0.5  # bias + the stored action 0.5
  loss, td_error = agent.critic_loss(
      trajectory.observation[:, 0], trajectory.action[:, 0], trajectory.reward[:, 0],
      trajectory.discount[:, 0], next_observation, tf.ones([64]), seed)
  np.testing.assert_allclose(loss.numpy(), np.mean((target - q_1) ** 2 + (target - q_2) ** 2),
                             rtol=1e-5)
  np.testing.assert_allclose(td_error.numpy(), target - q_1, rtol=1e-5)


def test_target_smoothing_noise_is_clipped_and_actions_stay_in_bounds():
  observation = tf.constant(np.random.default_rng(0).normal(size=(512, 2)), tf.float32)
  agent = make_agent(target_policy_noise=0.0)
  clean, _ = agent._target_actor_network(observation)  # pylint: disable=protected-access
  np.testing.assert_allclose(agent.target_actions(observation, tf.constant([1, 2])), clean)
  agent = make_agent(target_policy_noise=10.0, target_policy_noise_clip=0.25)
  clean, _ = agent._target_actor_network(observation)  # pylint: disable=protected-access
  noisy = agent.target_actions(observation, tf.constant([1, 2])).numpy()
  expected = np.clip(clean.numpy() + np.clip(noisy - clean.numpy(), -0.5, 0.5), -2.0, 2.0)
  np.testing.assert_allclose(noisy, expected, atol=1e-6)
  # With a huge std nearly every draw is clipped: at 0.25 * half range (2) = 0.5.
  inside = np.abs(noisy - clean.numpy()) < 0.499
  within_bounds = (noisy > -1.999) & (noisy < 1.999)
  assert np.mean(inside[within_bounds]) < 0.05
  again = agent.target_actions(observation, tf.constant([1, 2])).numpy()
  np.testing.assert_array_equal(noisy, again)  # stateless: the seed fixes the draw


def test_the_actor_and_the_targets_move_every_second_step_only():
  # Q rises with the action: the actor's gradient pushes every action up (by a real
  # step, not rounding), and the targets follow on the same steps.
  agent = make_agent(slope=1.0, actor_update_period=2, target_update_tau=0.5)
  actor = agent.actor_network
  target_actor = agent._target_actor_network  # pylint: disable=protected-access
  trajectory = experience()
  snapshots = [[v.numpy().copy() for v in actor.variables + target_actor.variables]]
  actor_losses = []
  for _ in range(4):
    actor_losses.append(float(agent.train(trajectory).extra.actor_loss))
    snapshots.append([v.numpy().copy() for v in actor.variables + target_actor.variables])
  changed = [any(not np.array_equal(a, b) for a, b in zip(before, after))
             for before, after in zip(snapshots, snapshots[1:])]
  assert changed == [False, True, False, True]
  assert actor_losses[0] == actor_losses[2] == 0.0 and actor_losses[1] != 0.0
  assert int(agent.train_step_counter.numpy()) == 4


def test_the_numpy_actor_matches_the_tf_policy_and_adds_bounded_noise():
  agent = make_agent()
  observations = np.random.default_rng(1).normal(size=(6, 2)).astype(np.float32)
  step = restart(tf.constant(observations), batch_size=6)
  expected = agent.policy.action(step).action.numpy()
  greedy = agent.collect_policy.as_numpy_policy(greedy=True)
  assert isinstance(greedy, NumpyDeterministicActorPolicy)
  got = greedy.action(restart(observations, batch_size=6)).action
  np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
  noisy = agent.collect_policy.as_numpy_policy()
  actions = np.stack([noisy.action(restart(observations, batch_size=6)).action
                      for _ in range(50)])
  assert np.all(actions >= -2.0) and np.all(actions <= 2.0)
  # Exploration noise 0.1 x half range 2: std 0.2 around the greedy action.
  assert 0.1 < np.std(actions - expected[None]) < 0.3
