"""C51Agent: the projection of the target distribution against hand-computed values; one update."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.agents.c51_agent import C51Agent, project_distribution
from rlrun.networks.categorical_q_network import CategoricalQNetwork
from rlrun.networks.q_network import QNetwork
from rlrun.specs import tensor_spec
from rlrun.trajectories import Trajectory, time_step as ts

OBSERVATION = tf.TensorSpec([2], tf.float32, "observation")
ACTION = tensor_spec.BoundedTensorSpec([], tf.int64, 0, 1, "action")
SUPPORT = tf.constant([-1.0, 0.0, 1.0])


def test_projection_splits_each_atom_between_its_two_neighbours():
  # r + gamma z = 0.5 + [-1, 0, 1] = [-0.5, 0.5, 1.5]; 1.5 is clipped to 1.
  # -0.5 -> 0.1 to -1 and 0.1 to 0; 0.5 -> 0.15 to 0 and 0.15 to 1; 1 -> 0.5 to 1.
  projected = project_distribution(SUPPORT, tf.constant([[-0.5, 0.5, 1.5]]),
                                   tf.constant([[0.2, 0.3, 0.5]]))
  np.testing.assert_allclose(projected.numpy(), [[0.1, 0.25, 0.65]], rtol=1e-6)


def test_projection_keeps_atoms_that_land_on_the_support_and_clips_below():
  projected = project_distribution(SUPPORT, tf.constant([[-3.0, 0.0, 1.0], [-1.0, -1.0, -1.0]]),
                                   tf.constant([[0.2, 0.3, 0.5], [0.2, 0.3, 0.5]]))
  np.testing.assert_allclose(projected.numpy(), [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], rtol=1e-6)


def make_agent(**kwargs):
  network = CategoricalQNetwork(OBSERVATION, ACTION, num_atoms=11, min_q_value=-5.0,
                                max_q_value=5.0, fc_layer_params=(8,))
  agent = C51Agent(ts.time_step_spec(OBSERVATION), ACTION, network,
                   tf.keras.optimizers.Adam(1e-2), epsilon_greedy=0.0, gamma=0.9, **kwargs)
  agent.initialize()
  return agent


def batch(reward=1.0, discount=1.0, size=8):
  observation = np.random.default_rng(0).normal(size=(size, 2, 2)).astype(np.float32)
  return Trajectory(step_type=tf.constant([[0, 1]] * size), observation=tf.constant(observation),
                    action=tf.constant([[i % 2, 0] for i in range(size)], tf.int64),
                    policy_info=(), next_step_type=tf.constant([[1, 1]] * size),
                    reward=tf.constant([[reward, 0.0]] * size),
                    discount=tf.constant([[discount, 1.0]] * size))


def test_the_loss_is_the_cross_entropy_to_the_projected_target():
  agent = make_agent()
  experience = batch(reward=1.0, discount=0.0)  # terminal: the target is a point mass at r = 1
  logits = agent.q_network.logits(experience.observation[:, 0])
  taken = tf.gather(logits, tf.cast(experience.action[:, 0], tf.int32), batch_dims=1)
  # Atom 6 of linspace(-5, 5, 11) is 1.0.
  expected = -tf.nn.log_softmax(taken)[:, 6]
  loss_info = agent.loss(experience)
  np.testing.assert_allclose(loss_info.extra.td_loss.numpy(), expected.numpy(), rtol=1e-5)


def test_training_moves_the_expected_value_towards_a_constant_return():
  agent = make_agent()
  experience = batch(reward=1.0, discount=0.0)
  for _ in range(200):
    agent.train(experience)
  q_values, _ = agent.q_network(experience.observation[:, 0])
  taken = tf.gather(q_values, tf.cast(experience.action[:, 0], tf.int32), batch_dims=1)
  np.testing.assert_allclose(taken.numpy(), 1.0, atol=0.05)
  assert int(agent.train_step_counter.numpy()) == 200


def test_the_greedy_policy_acts_on_expected_values():
  agent = make_agent()
  observation = tf.random.normal([5, 2], seed=3)
  q_values, _ = agent.q_network(observation)
  action = agent.policy.action(ts.restart(observation, batch_size=5)).action
  np.testing.assert_array_equal(action.numpy(), np.argmax(q_values.numpy(), axis=-1))


def test_a_plain_q_network_is_refused():
  with pytest.raises(ValueError, match="C51Agent needs a networks.CategoricalQNetwork"):
    C51Agent(ts.time_step_spec(OBSERVATION), ACTION, QNetwork(OBSERVATION, ACTION),
             tf.keras.optimizers.Adam())


def test_the_numpy_collect_policy_acts_on_the_same_expected_values():
  agent = make_agent()
  numpy_policy = agent.policy.as_numpy_policy(greedy=True)
  assert numpy_policy is not None
  observation = np.random.default_rng(4).normal(size=(16, 2)).astype(np.float32)
  q_values, _ = agent.q_network(tf.constant(observation))
  action = numpy_policy.action(ts.restart(observation, batch_size=16)).action
  np.testing.assert_array_equal(action, np.argmax(q_values.numpy(), axis=-1))
