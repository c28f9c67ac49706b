"""CriticNetwork, the projection networks and ActorDistributionNetwork."""

import math

import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from rlrun.networks.actor_distribution_network import ActorDistributionNetwork
from rlrun.networks.critic_network import CriticNetwork
from rlrun.networks.projection_networks import (CategoricalProjectionNetwork, SquashedNormal,
                                                StateDependentNormalProjectionNetwork,
                                                TanhNormalProjectionNetwork)
from rlrun.specs import tensor_spec

OBS_SPEC = tf.TensorSpec((3,), tf.float32, "observation")
ACTION_SPEC = tensor_spec.BoundedTensorSpec((1,), tf.float32, -2.0, 2.0, "action")


def _rand(*shape, seed=0):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _tanh_normal_log_prob(x, mean, std, low, high):
  """log density of low + (high - low) / 2 * (tanh(u) + 1), u ~ N(mean, std), summed over dims."""
  x, mean, std, low, high = (np.asarray(v, np.float64) for v in (x, mean, std, low, high))
  half, mid = (high - low) / 2.0, (high + low) / 2.0
  u = np.arctanh((x - mid) / half)
  log_normal = -0.5 * ((u - mean) / std) ** 2 - np.log(std) - 0.5 * math.log(2 * math.pi)
  log_jacobian = np.log(half * (1.0 - np.tanh(u) ** 2))
  return np.sum(log_normal - log_jacobian, axis=-1)


def _projection_with(spec, mean, std):
  """A TanhNormalProjectionNetwork whose output is N(mean, std) whatever the features."""
  net = TanhNormalProjectionNetwork(spec)
  net(tf.zeros((1, 4)))
  kernel, bias = net.projection_layer.variables
  kernel.assign(tf.zeros_like(kernel))
  bias.assign(np.concatenate([mean, np.log(std)]).astype(np.float32))
  return net


def test_critic_output_shapes_and_layer_kernels():
  critic = CriticNetwork((OBS_SPEC, ACTION_SPEC), observation_fc_layer_params=(7,),
                         action_fc_layer_params=(5,), joint_fc_layer_params=(6, 4))
  assert critic.create_variables().shape == ()
  q, state = critic((_rand(8, 3), _rand(8, 1, seed=1)))
  assert q.shape == (8,) and state == ()
  kernels = [layer.kernel.shape.as_list() for layer in
             critic.observation_layers + critic.action_layers + critic.joint_layers]
  # joint input = 7 observation features + 5 action features
  assert kernels == [[3, 7], [1, 5], [12, 6], [6, 4]]
  assert critic.last_layer.kernel.shape.as_list() == [4, 1]

  obs_bt, act_bt = _rand(2, 5, 3, seed=2), _rand(2, 5, 1, seed=3)
  q_bt, _ = critic((obs_bt, act_bt))
  q_flat, _ = critic((obs_bt.reshape(10, 3), act_bt.reshape(10, 1)))
  assert q_bt.shape == (2, 5)
  np.testing.assert_allclose(q_bt.numpy().ravel(), q_flat.numpy(), rtol=1e-5, atol=1e-6)


def test_critic_without_branch_layers_concatenates_raw_inputs():
  critic = CriticNetwork((OBS_SPEC, ACTION_SPEC), joint_fc_layer_params=(9,))
  critic.create_variables()
  assert critic.observation_layers == [] and critic.action_layers == []
  assert critic.joint_layers[0].kernel.shape.as_list() == [4, 9]


def test_critic_copy_has_independent_variables():
  critic = CriticNetwork((OBS_SPEC, ACTION_SPEC), joint_fc_layer_params=(16,),
                         kernel_initializer=tf.keras.initializers.GlorotUniform())
  critic.create_variables()
  target = critic.copy(name="TargetCritic")
  target.create_variables()
  assert target.name == "TargetCritic"
  assert len(target.variables) == len(critic.variables) == 4
  assert not any(a is b for a, b in zip(critic.variables, target.variables))
  # Fresh initializers: the copies' random kernels differ.
  assert not np.allclose(critic.variables[0].numpy(), target.variables[0].numpy())
  before = critic.variables[0].numpy().copy()
  target.variables[0].assign(tf.zeros_like(target.variables[0]))
  np.testing.assert_array_equal(critic.variables[0].numpy(), before)


def test_critic_rejects_bad_arguments():
  with pytest.raises(ValueError, match="observation_spec, action_spec"):
    CriticNetwork(OBS_SPEC)
  with pytest.raises(TypeError, match="factory"):
    CriticNetwork((OBS_SPEC, ACTION_SPEC), last_layer=tf.keras.layers.Dense(1))


def test_tanh_normal_samples_stay_in_bounds():
  spec = tensor_spec.BoundedTensorSpec((3,), tf.float32, -2.0, 2.0)
  # A large std saturates tanh: samples must still be inside [min, max].
  net = _projection_with(spec, mean=[0.0, 3.0, -3.0], std=[5.0, 5.0, 5.0])
  distribution, _ = net(tf.zeros((64, 4)))
  assert isinstance(distribution, SquashedNormal)
  assert distribution.event_shape == (3,) and distribution.batch_shape == (64,)
  samples = distribution.sample(10, seed=1).numpy()
  assert samples.shape == (10, 64, 3)
  assert np.all(samples >= -2.0) and np.all(samples <= 2.0)


def test_tanh_normal_log_prob_matches_numeric_reference_1d():
  spec = tensor_spec.BoundedTensorSpec((1,), tf.float32, -2.0, 2.0)
  mean, std = 0.3, 0.7
  distribution, _ = _projection_with(spec, [mean], [std])(tf.zeros((5, 4)))
  x = np.array([[-1.9], [-0.5], [0.0], [0.8], [1.7]], np.float32)
  expected = _tanh_normal_log_prob(x, [mean], [std], [-2.0], [2.0])
  np.testing.assert_allclose(distribution.log_prob(x).numpy(), expected, atol=1e-4)
  np.testing.assert_allclose(distribution.mode().numpy(), np.full((5, 1), 2.0 * np.tanh(mean)),
                             atol=1e-6)


def test_tanh_normal_log_prob_sums_dims_with_per_dim_bounds():
  low, high = np.array([-2.0, -1.0, 0.0]), np.array([2.0, 1.0, 4.0])
  spec = tensor_spec.BoundedTensorSpec((3,), tf.float32, low, high)
  mean, std = np.array([0.1, -0.4, 0.9]), np.array([0.5, 1.2, 0.3])
  distribution, _ = _projection_with(spec, mean, std)(tf.zeros((4, 4)))
  x = (low + (high - low) * np.random.default_rng(0).uniform(0.05, 0.95, (4, 3))).astype(
      np.float32)
  expected = _tanh_normal_log_prob(x, mean, std, low, high)
  assert distribution.log_prob(x).shape == (4,)
  np.testing.assert_allclose(distribution.log_prob(x).numpy(), expected, atol=1e-4)
  mode = (high + low) / 2 + (high - low) / 2 * np.tanh(mean)
  np.testing.assert_allclose(distribution.mode().numpy(), np.tile(mode, (4, 1)), atol=1e-6)


def test_tanh_normal_clips_log_std():
  spec = tensor_spec.BoundedTensorSpec((2,), tf.float32, -1.0, 1.0)
  net = _projection_with(spec, [0.0, 0.0], [math.exp(50.0), math.exp(-50.0)])
  distribution, _ = net(tf.zeros((1, 4)))
  np.testing.assert_allclose(distribution.distribution.stddev().numpy(),
                             [[math.exp(2.0), math.exp(-20.0)]], rtol=1e-5)


def test_actor_distribution_network_continuous():
  actor = ActorDistributionNetwork(OBS_SPEC, ACTION_SPEC, fc_layer_params=(16, 8))
  assert actor.create_variables() == tf.TensorSpec((1,), tf.float32)
  distribution, _ = actor(_rand(6, 3))
  sample = distribution.sample(seed=3)
  assert sample.shape == (6, 1)
  assert np.all(np.abs(sample.numpy()) <= 2.0)
  assert distribution.mode().shape == (6, 1)
  distribution_bt, _ = actor(_rand(2, 4, 3))
  assert distribution_bt.batch_shape == (2, 4) and distribution_bt.sample().shape == (2, 4, 1)


def test_actor_log_prob_gradients_are_finite():
  actor = ActorDistributionNetwork(OBS_SPEC, ACTION_SPEC, fc_layer_params=(16,))
  actor.create_variables()
  with tf.GradientTape() as tape:
    distribution, _ = actor(_rand(32, 3))
    loss = tf.reduce_mean(distribution.log_prob(distribution.sample(seed=7)))
  gradients = tape.gradient(loss, actor.trainable_variables)
  assert len(gradients) == 4
  for variable, gradient in zip(actor.trainable_variables, gradients):
    assert gradient is not None, variable.name
    assert np.all(np.isfinite(gradient.numpy())), variable.name


def test_state_dependent_spread_is_the_features_squared_times_the_noise_variance():
  spec = tensor_spec.BoundedTensorSpec((2,), tf.float32, -1.0, 1.0)
  net = StateDependentNormalProjectionNetwork(spec, log_std_init=-1.0, epsilon=1e-6)
  features = np.array([[1.0, -2.0, 0.0], [0.0, 0.0, 0.0]], np.float32)
  net(features)
  assert net.log_std.shape == (3, 2)
  net.log_std.assign([[0.0, 1.0], [-1.0, 0.0], [2.0, 2.0]])
  distribution, _ = net(features)
  # Row 0: variance_a = 1 * exp(2 log_std[0, a]) + 4 * exp(2 log_std[1, a]) (+ epsilon);
  # row 1 (zero features): epsilon alone.
  variance = np.array([[1 + 4 * math.exp(-2), math.exp(2) + 4], [0.0, 0.0]]) + 1e-6
  np.testing.assert_allclose(distribution.stddev().numpy(), np.sqrt(variance), rtol=1e-5)
  np.testing.assert_allclose(distribution.mean().numpy(),
                             features @ net.mean_layer.kernel.numpy() + net.mean_layer.bias.numpy(),
                             rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("learn_features", [False, True])
def test_state_dependent_spread_reaches_the_features_only_when_asked(learn_features):
  spec = tensor_spec.BoundedTensorSpec((1,), tf.float32, -2.0, 2.0)
  net = StateDependentNormalProjectionNetwork(spec, learn_features=learn_features)
  features = tf.constant(_rand(4, 3))
  with tf.GradientTape() as tape:
    tape.watch(features)
    spread = tf.reduce_sum(net(features)[0].stddev())
  feature_gradient, log_std_gradient = tape.gradient(spread, [features, net.log_std])
  assert np.any(log_std_gradient.numpy() != 0.0)
  assert (feature_gradient is not None) == learn_features


@pytest.mark.parametrize("interval", [0, -1, 2.5, True])
def test_state_dependent_projection_rejects_a_bad_noise_interval(interval):
  with pytest.raises(ValueError, match="noise_interval must be an int >= 1"):
    StateDependentNormalProjectionNetwork(ACTION_SPEC, noise_interval=interval)


def test_actor_distribution_network_discrete():
  spec = tensor_spec.BoundedTensorSpec((), tf.int64, 1, 4)
  actor = ActorDistributionNetwork(OBS_SPEC, spec, fc_layer_params=(8,))
  assert actor.create_variables() == tf.TensorSpec((), tf.int64)
  distribution, _ = actor(_rand(5, 3))
  assert isinstance(distribution, tfp.distributions.Categorical)
  assert distribution.logits.shape == (5, 4)
  samples = distribution.sample(50, seed=2).numpy()
  assert samples.dtype == np.int64 and samples.min() >= 1 and samples.max() <= 4
  np.testing.assert_allclose(distribution.log_prob(tf.fill([5], tf.constant(4, tf.int64))),
                             tf.nn.log_softmax(distribution.logits)[:, 3], atol=1e-6)


def test_categorical_projection_vector_spec():
  spec = tensor_spec.BoundedTensorSpec((2,), tf.int32, 0, 2)
  net = CategoricalProjectionNetwork(spec)
  distribution, _ = net(tf.zeros((3, 5)))
  assert net.num_actions == 3
  assert distribution.event_shape == (2,) and distribution.sample().shape == (3, 2)
  assert distribution.log_prob(tf.zeros((3, 2), tf.int32)).shape == (3,)


def test_actor_network_is_gin_configurable():
  gin.parse_config("""
      networks.ActorDistributionNetwork.fc_layer_params = (4,)
      networks.ActorDistributionNetwork.continuous_projection_net = \
          @networks.TanhNormalProjectionNetwork
  """)
  try:
    actor = ActorDistributionNetwork(OBS_SPEC, ACTION_SPEC)
    actor.create_variables()
    assert actor.encoder.encoding_layers[-1].kernel.shape.as_list() == [3, 4]
    assert isinstance(actor.projection_network, TanhNormalProjectionNetwork)
  finally:
    gin.clear_config()
