"""NumpyActorPolicy: the numpy form of actor-network policies matches the TF policy."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.networks.actor_distribution_network import ActorDistributionNetwork
from rlrun.networks.projection_networks import StateDependentNormalProjectionNetwork
from rlrun.policies.actor_policy import ActorPolicy
from rlrun.policies.greedy_policy import GreedyPolicy
from rlrun.policies.numpy_actor_policy import NumpyActorPolicy
from rlrun.specs import array_spec, tensor_spec
from rlrun.trajectories import time_step as ts

OBS_SPEC = tensor_spec.TensorSpec((5,), tf.float32, "observation")
BOX = tensor_spec.BoundedTensorSpec((3,), tf.float32, [-1.0, 0.0, -2.0], [1.0, 4.0, 2.0], "action")
DISCRETE = tensor_spec.BoundedTensorSpec((), tf.int64, 2, 5, "action")


def _policy(action_spec, seed=0, **network_kwargs):
  tf.random.set_seed(seed)
  network = ActorDistributionNetwork(OBS_SPEC, action_spec, fc_layer_params=(16, 8),
                                     **network_kwargs)
  return ActorPolicy(ts.time_step_spec(OBS_SPEC), action_spec, network)


def _gsde_policy(noise_interval):
  """A gSDE actor whose samples stay well inside its bounds (a small noise scale around
  means near 0), so the clipped actions are the samples."""
  projection = lambda spec: StateDependentNormalProjectionNetwork(
      spec, log_std_init=-3.0, noise_interval=noise_interval)
  wide = tensor_spec.BoundedTensorSpec((3,), tf.float32, -2.0, 2.0, "action")
  return _policy(wide, continuous_projection_net=projection)


def _time_step(observation):
  batch = observation.shape[0]
  return ts.TimeStep(np.ones(batch, np.int32), np.zeros(batch, np.float32),
                     np.ones(batch, np.float32), observation)


def _observations(n, seed=1):
  return np.random.default_rng(seed).normal(size=(n, 5)).astype(np.float32)


def test_greedy_tanh_normal_matches_the_tf_greedy_policy():
  policy = _policy(BOX)
  numpy_policy = GreedyPolicy(policy).as_numpy_policy()
  assert isinstance(numpy_policy, NumpyActorPolicy)
  observations = _observations(32)
  expected = GreedyPolicy(policy).action(_time_step(observations)).action.numpy()
  np.testing.assert_allclose(numpy_policy.action(_time_step(observations)).action, expected,
                             atol=1e-5)


def test_sampled_tanh_normal_has_the_tf_distribution():
  policy = _policy(BOX)
  numpy_policy = policy.as_numpy_policy()
  observation = np.repeat(_observations(1), 20000, axis=0)
  actions = numpy_policy.action(_time_step(observation)).action
  assert actions.shape == (20000, 3) and actions.dtype == np.float32
  assert np.all(actions >= BOX.minimum) and np.all(actions <= BOX.maximum)
  # Undo the squash with the TF distribution's own parameters: z-scores must be N(0, 1).
  distribution = policy.distribution(_time_step(observation[:1])).action
  base = distribution.distribution
  low, high = np.asarray(BOX.minimum), np.asarray(BOX.maximum)
  inside = np.clip((actions - (high + low) / 2) / ((high - low) / 2), -1 + 1e-6, 1 - 1e-6)
  z = (np.arctanh(inside) - base.mean().numpy()) / base.stddev().numpy()
  np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.05)
  np.testing.assert_allclose(z.std(axis=0), 1.0, atol=0.05)


def test_categorical_greedy_and_sampled_actions_match_tf():
  policy = _policy(DISCRETE)
  observations = _observations(16)
  greedy = GreedyPolicy(policy).as_numpy_policy().action(_time_step(observations)).action
  np.testing.assert_array_equal(
      greedy, GreedyPolicy(policy).action(_time_step(observations)).action.numpy())
  assert greedy.dtype == np.int64
  observation = np.repeat(observations[:1], 20000, axis=0)
  sampled = policy.as_numpy_policy().action(_time_step(observation)).action
  frequencies = np.bincount(sampled - 2, minlength=4) / len(sampled)
  probs = policy.distribution(_time_step(observations[:1])).action.probs_parameter().numpy()[0]
  np.testing.assert_allclose(frequencies, probs, atol=0.02)


def test_unbatched_time_steps_give_unbatched_actions():
  numpy_policy = GreedyPolicy(_policy(BOX)).as_numpy_policy()
  step = ts.restart(_observations(1)[0])
  action = numpy_policy.action(step).action
  assert action.shape == (3,)
  assert array_spec.check_arrays_nest(action, numpy_policy.action_spec)


def test_update_and_set_weights_follow_the_tf_variables():
  policy = _policy(BOX)
  numpy_policy = GreedyPolicy(policy).as_numpy_policy()
  observations = _observations(4)
  before = numpy_policy.action(_time_step(observations)).action
  for variable in policy.actor_network.trainable_variables:
    variable.assign(variable + 0.3)
  np.testing.assert_array_equal(numpy_policy.action(_time_step(observations)).action, before)
  numpy_policy.update()
  expected = GreedyPolicy(policy).action(_time_step(observations)).action.numpy()
  np.testing.assert_allclose(numpy_policy.action(_time_step(observations)).action, expected,
                             atol=1e-5)
  other = GreedyPolicy(_policy(BOX, seed=7)).as_numpy_policy()
  other.set_weights([v.numpy() for v in numpy_policy.variables])
  np.testing.assert_allclose(other.action(_time_step(observations)).action, expected, atol=1e-5)


def test_unsupported_networks_have_no_numpy_form():
  class Plain(tf.keras.layers.Layer):
    pass
  policy = _policy(BOX)
  policy._actor_network = Plain()  # pylint: disable=protected-access
  assert NumpyActorPolicy.of(policy) is None


@pytest.mark.parametrize("greedy", [False, True])
def test_rng_is_exposed_for_checkpointing(greedy):
  numpy_policy = _policy(BOX).as_numpy_policy(greedy=greedy)
  state = numpy_policy.rng.bit_generator.state
  first = numpy_policy.action(_time_step(_observations(2))).action
  numpy_policy.rng.bit_generator.state = state
  np.testing.assert_array_equal(numpy_policy.action(_time_step(_observations(2))).action, first)


def test_gsde_keeps_each_environments_noise_for_its_interval_then_draws_again():
  policy = _gsde_policy(noise_interval=3)
  numpy_policy = policy.as_numpy_policy()
  observations = _observations(4)
  actions = [numpy_policy.action(_time_step(observations)).action for _ in range(7)]
  for k in (1, 2, 4, 5):  # the same noise matrix as the step before
    np.testing.assert_array_equal(actions[k], actions[k - 1])
  for k in (3, 6):  # a new one
    assert np.all(actions[k] != actions[k - 1])
  assert np.all(actions[0][0] != actions[0][1])  # one matrix per environment
  numpy_policy.reset_noise()
  assert np.all(numpy_policy.action(_time_step(observations)).action != actions[6])


def test_gsde_noise_is_linear_in_the_features_of_one_matrix():
  policy = _gsde_policy(noise_interval=None)
  numpy_policy, greedy = policy.as_numpy_policy(), GreedyPolicy(policy).as_numpy_policy()
  features = lambda o: policy.actor_network.encoder(tf.constant(o))[0].numpy()
  first, second = _observations(1, seed=1), _observations(1, seed=2)
  noise = [numpy_policy.action(_time_step(o)).action - greedy.action(_time_step(o)).action
           for o in (first, second)]
  matrix = numpy_policy._unit_noise[0] * np.exp(policy.actor_network.projection_network.log_std.numpy())  # pylint: disable=protected-access
  for observation, observed in zip((first, second), noise):
    np.testing.assert_allclose(observed, features(observation) @ matrix, rtol=1e-4, atol=1e-6)


def test_gsde_samples_over_fresh_matrices_have_the_networks_spread():
  policy = _gsde_policy(noise_interval=1)
  numpy_policy = policy.as_numpy_policy()
  observation = np.repeat(_observations(1), 20000, axis=0)
  samples = numpy_policy.action(_time_step(observation)).action
  distribution = policy.distribution(_time_step(observation[:1])).action
  np.testing.assert_allclose(samples.mean(axis=0), distribution.mean().numpy()[0],
                             atol=0.05 * distribution.stddev().numpy().max())
  # The marginal's variance adds the projection's epsilon (1e-6), which features @ W lacks:
  # it shows when this observation's features are near zero (the network's weights are
  # drawn anew each run, and its ReLUs can all be off).
  np.testing.assert_allclose(np.sqrt(samples.var(axis=0) + 1e-6),
                             distribution.stddev().numpy()[0], rtol=0.05)
