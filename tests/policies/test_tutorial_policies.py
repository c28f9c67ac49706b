"""The policies tutorial's examples with rlrun, plus the noise and TF-from-numpy wrappers."""

from typing import List

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from rlrun.agents.dqn_agent import DqnAgent
from rlrun.drivers.py_driver import PyDriver
from rlrun.environments import py_environment
from rlrun.networks import network
from rlrun.policies.actor_policy import ActorPolicy
from rlrun.policies.gaussian_policy import GaussianPolicy
from rlrun.policies.greedy_policy import GreedyPolicy
from rlrun.policies.ou_noise_policy import OUNoisePolicy
from rlrun.policies.py_tf_eager_policy import PyTFEagerPolicy
from rlrun.policies.q_policy import QPolicy
from rlrun.policies.random_py_policy import RandomPyPolicy, ScriptedPyPolicy
from rlrun.policies.random_tf_policy import RandomTFPolicy
from rlrun.policies.tf_py_policy import TFPyPolicy
from rlrun.specs import array_spec, tensor_spec
from rlrun.trajectories import Trajectory, time_step as ts

OBS4_SPEC = tensor_spec.TensorSpec((4,), tf.float32)
TS4_SPEC = ts.time_step_spec(OBS4_SPEC)
UNIT_ACTION_SPEC = tensor_spec.BoundedTensorSpec((3,), tf.float32, minimum=-1, maximum=1)
Q_ACTION_SPEC = tensor_spec.BoundedTensorSpec((), tf.int32, minimum=0, maximum=2)


class ActionNet(network.Network):
  """The tutorial's actor: one tanh Dense layer reshaped to the action shape."""

  def __init__(self, input_tensor_spec, output_tensor_spec):
    super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name="ActionNet")
    self._output_tensor_spec = output_tensor_spec
    self._sub_layers = [tf.keras.layers.Dense(output_tensor_spec.shape.num_elements(),
                                              activation=tf.nn.tanh)]

  def call(self, observations, step_type, network_state):  # no defaults, as in the tutorial
    del step_type
    output = tf.cast(observations, dtype=tf.float32)
    for layer in self._sub_layers:
      output = layer(output)
    return tf.reshape(output, [-1] + self._output_tensor_spec.shape.as_list()), network_state


class ActionDistributionNet(ActionNet):
  """The tutorial's stochastic actor: a unit-variance Gaussian around ActionNet's output."""

  def call(self, observations, step_type, network_state):
    means, network_state = super().call(observations, step_type, network_state)
    return tfp.distributions.MultivariateNormalDiag(means, tf.ones_like(means)), network_state


class QNetwork(network.Network):
  """The tutorial's Q-network: one Dense layer with a Q-value per action."""

  def __init__(self, input_tensor_spec, action_spec, num_actions=3, name=None):
    super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name=name)
    self._sub_layers = [tf.keras.layers.Dense(num_actions)]

  def call(self, inputs, step_type=None, network_state=()):
    del step_type
    inputs = tf.cast(inputs, tf.float32)
    for layer in self._sub_layers:
      inputs = layer(inputs)
    return inputs, network_state


class RnnActorNet(network.Network):
  """A stateful actor: an LSTM cell whose [h, c] state restarts at FIRST steps."""

  def __init__(self, input_tensor_spec, output_tensor_spec, units=4):
    super().__init__(input_tensor_spec=input_tensor_spec,
                     state_spec=[tf.TensorSpec((units,), tf.float32)] * 2, name="RnnActorNet")
    self._cell = tf.keras.layers.LSTMCell(units)
    self._out = tf.keras.layers.Dense(output_tensor_spec.shape.num_elements(),
                                      activation=tf.nn.tanh)

  def call(self, observations, step_type, network_state):
    if step_type is not None:
      first = tf.equal(step_type, ts.StepType.FIRST)[:, None]
      network_state = [tf.where(first, tf.zeros_like(s), s) for s in network_state]
    output, state = self._cell(observations, network_state)
    return self._out(output), list(state)


class RampEnv(py_environment.PyEnvironment):
  """Observations [t, 1, -t] with float actions in [-1, 1]^3; episodes of 4 steps."""

  def observation_spec(self):
    return array_spec.ArraySpec((4,), np.float32)

  def action_spec(self):
    return array_spec.BoundedArraySpec((3,), np.float32, -1.0, 1.0)

  def _obs(self):
    return np.array([self._t, 1.0, -self._t, 0.5], np.float32)

  def _reset(self):
    self._t = 0
    return ts.restart(self._obs())

  def _step(self, action):
    assert action.shape == (3,) and np.all(np.abs(action) <= 1.0)
    self._t += 1
    return (ts.termination if self._t >= 4 else ts.transition)(self._obs(), 1.0)


def _batch_time_step(batch_size=2):
  return ts.restart(tf.ones([batch_size, 4]), batch_size)


def test_restart_and_transitions_with_tensors_return_tensors():
  step = ts.restart(tf.ones([2]))
  assert all(isinstance(x, tf.Tensor) for x in step)
  assert step.step_type.dtype == tf.int32 and step.step_type.shape == ()
  assert step.reward.dtype == tf.float32 and step.discount.numpy() == 1.0
  batched = ts.restart(tf.ones([3, 2]), batch_size=3)
  assert batched.step_type.shape == (3,) and batched.discount.shape == (3,)
  np.testing.assert_array_equal(batched.reward.numpy(), [0.0, 0.0, 0.0])
  end = ts.termination(tf.ones([2, 2]), tf.constant([1.0, 2.0]))
  np.testing.assert_array_equal(end.step_type.numpy(), [2, 2])
  np.testing.assert_array_equal(end.discount.numpy(), [0.0, 0.0])
  mid = ts.transition(tf.ones([2]), 0.5, discount=0.9)
  assert mid.step_type.numpy() == 1 and mid.discount.dtype == tf.float32
  assert ts.truncation(tf.ones([2]), 3.0).discount.numpy() == 1.0
  assert isinstance(ts.restart(np.ones(2)).step_type, np.ndarray)  # numpy in, numpy out


def test_random_py_and_scripted_py_policies():
  spec = array_spec.BoundedArraySpec((2,), np.int32, -10, 10)
  action = RandomPyPolicy(time_step_spec=None, action_spec=spec).action(None).action
  assert action.shape == (2,) and action.dtype == np.int32
  assert np.all(action >= -10) and np.all(action <= 10)
  script = [(1, np.array([5, 2], np.int32)), (0, np.array([0, 0], np.int32)),
            (2, np.array([1, 2], np.int32)), (1, np.array([3, 4], np.int32))]
  scripted = ScriptedPyPolicy(time_step_spec=None, action_spec=spec, action_script=script)
  step = scripted.action(None, scripted.get_initial_state())
  assert step.action.tolist() == [5, 2] and step.state == [0, 1]
  step = scripted.action(None, step.state)
  assert step.action.tolist() == [1, 2] and step.state == [2, 1]


def test_random_tf_policy_unbatched_action():
  action_spec = tensor_spec.BoundedTensorSpec((2,), tf.float32, minimum=-1, maximum=3)
  time_step_spec = ts.time_step_spec(tensor_spec.TensorSpec((2,), tf.float32))
  policy = RandomTFPolicy(action_spec=action_spec, time_step_spec=time_step_spec)
  action = policy.action(ts.restart(tf.ones(time_step_spec.observation.shape))).action
  assert isinstance(action, tf.Tensor) and action.shape == (2,) and action.dtype == tf.float32
  assert np.all(action.numpy() >= -1) and np.all(action.numpy() <= 3)
  assert policy.action(ts.restart(tf.ones([5, 2]), 5)).action.shape == (5, 2)


def test_actor_policy_with_action_network():
  policy = ActorPolicy(time_step_spec=TS4_SPEC, action_spec=UNIT_ACTION_SPEC,
                       actor_network=ActionNet(OBS4_SPEC, UNIT_ACTION_SPEC))
  action = policy.action(_batch_time_step()).action.numpy()
  assert action.shape == (2, 3) and np.all(np.abs(action) <= 1.0)
  np.testing.assert_array_equal(action[0], action[1])  # same observations, same actions
  dist = policy.distribution(_batch_time_step()).action
  assert isinstance(dist, tfp.distributions.Deterministic)
  assert dist.batch_shape == (2, 3) and dist.event_shape == ()
  np.testing.assert_allclose(dist.sample().numpy(), action)
  assert policy.action(ts.restart(tf.ones([4]))).action.shape == (3,)
  assert policy.as_numpy_policy() is None


def test_actor_policy_with_distribution_network_clips():
  net = ActionDistributionNet(OBS4_SPEC, UNIT_ACTION_SPEC)
  policy = ActorPolicy(time_step_spec=TS4_SPEC, action_spec=UNIT_ACTION_SPEC, actor_network=net)
  actions = policy.action(_batch_time_step(200)).action.numpy()
  assert actions.shape == (200, 3) and np.all(np.abs(actions) <= 1.0)
  assert np.mean(np.abs(actions) == 1.0) > 0.2  # unit-variance samples often hit the bounds
  dist = policy.distribution(_batch_time_step()).action
  assert isinstance(dist, tfp.distributions.MultivariateNormalDiag)
  assert dist.batch_shape == (2,) and dist.event_shape == (3,)
  unclipped = ActorPolicy(TS4_SPEC, UNIT_ACTION_SPEC, net, clip=False)
  assert np.abs(unclipped.action(_batch_time_step(200)).action.numpy()).max() > 1.0


def test_actor_policy_rejects_mismatched_network():
  wide = tensor_spec.BoundedTensorSpec((5,), tf.float32, -1, 1)
  with pytest.raises(ValueError, match=r"shape \(5,\) per observation.*shape \(3,\)"):
    ActorPolicy(TS4_SPEC, UNIT_ACTION_SPEC, ActionNet(OBS4_SPEC, wide))


def test_q_policy_and_greedy_over_custom_q_network():
  q_network = QNetwork(OBS4_SPEC, Q_ACTION_SPEC)
  policy = QPolicy(TS4_SPEC, Q_ACTION_SPEC, q_network=q_network)
  time_steps = _batch_time_step()
  action = policy.action(time_steps).action
  assert action.shape == (2,) and action.dtype == tf.int32
  assert np.all((action.numpy() >= 0) & (action.numpy() <= 2))
  dist = policy.distribution(time_steps).action
  assert isinstance(dist, tfp.distributions.Categorical) and dist.batch_shape == (2,)
  assert dist.logits_parameter().shape == (2, 3)
  greedy = GreedyPolicy(policy)
  q_values, _ = q_network(tf.ones([2, 4]))
  np.testing.assert_array_equal(greedy.action(time_steps).action.numpy(),
                                np.argmax(q_values.numpy(), axis=-1))
  assert isinstance(greedy.distribution(time_steps).action, tfp.distributions.Deterministic)


def test_stateful_actor_policy_through_py_driver():
  net = RnnActorNet(OBS4_SPEC, UNIT_ACTION_SPEC)
  policy = ActorPolicy(TS4_SPEC, UNIT_ACTION_SPEC, net)
  assert len(policy.policy_state_spec) == 2
  env = RampEnv()
  steps: List = []
  driver = PyDriver(env, PyTFEagerPolicy(policy, use_tf_function=True), observers=[],
                    transition_observers=[lambda t: steps.append(t)], max_steps=6)
  _, final_state = driver.run(env.reset(), PyTFEagerPolicy(policy).get_initial_state())
  assert len(steps) == 7  # six steps plus the boundary step into the second episode
  states = [np.concatenate(t.action_step.state) for t in steps]
  assert all(s.shape == (8,) for s in states)
  assert not np.allclose(states[0], states[1]) and not np.allclose(states[1], states[2])
  # The same actions follow from carrying the state by hand through the TF policy.
  state = policy.get_initial_state(1)
  for t in steps:
    batched = tf.nest.map_structure(lambda x: tf.convert_to_tensor(x)[None], t.time_step)
    step = policy.action(batched, state)
    np.testing.assert_allclose(step.action.numpy()[0], t.action_step.action, atol=1e-5)
    state = step.state
  np.testing.assert_allclose(np.concatenate(final_state), states[-1], atol=1e-6)


def test_gaussian_and_ou_noise_stay_in_bounds_and_change_actions():
  actor = ActorPolicy(TS4_SPEC, UNIT_ACTION_SPEC, ActionNet(OBS4_SPEC, UNIT_ACTION_SPEC))
  clean = actor.action(_batch_time_step(50)).action.numpy()
  for noisy_policy in (GaussianPolicy(actor, scale=0.5), OUNoisePolicy(actor, ou_stddev=0.5)):
    noisy = noisy_policy.action(_batch_time_step(50)).action.numpy()
    assert noisy.shape == (50, 3) and np.all(np.abs(noisy) <= 1.0)
    assert not np.allclose(noisy, clean)
  # One OU process shared by the batch: every entry gets the same noise; it persists.
  ou = OUNoisePolicy(actor, ou_stddev=0.1, ou_damping=0.0)
  ou_action = tf.function(lambda step: ou.action(step).action)
  first = ou_action(_batch_time_step(4)).numpy() - clean[:4]
  np.testing.assert_allclose(first, np.broadcast_to(first[0], first.shape), atol=1e-6)
  second = ou_action(_batch_time_step(4)).numpy() - clean[:4]
  assert not np.allclose(first, second)
  ou.reset_noise()
  assert np.all(ou.noise.numpy() == 0) and ou.noise.shape == (3,)
  with pytest.raises(ValueError, match="no float leaf"):
    GaussianPolicy(QPolicy(TS4_SPEC, Q_ACTION_SPEC, QNetwork(OBS4_SPEC, Q_ACTION_SPEC)))
  with pytest.raises(ValueError, match="ou_damping=2"):
    OUNoisePolicy(actor, ou_damping=2.0)


def test_tf_py_policy_runs_numpy_policy_in_tf_function():
  spec = array_spec.BoundedArraySpec((2,), np.int32, -10, 10)
  py_ts_spec = ts.time_step_spec(array_spec.ArraySpec((4,), np.float32))
  policy = TFPyPolicy(RandomPyPolicy(py_ts_spec, spec))
  action = tf.function(lambda step: policy.action(step).action)(ts.restart(tf.ones([1, 4]), 1))
  assert isinstance(action, tf.Tensor) and action.dtype == tf.int32 and action.shape == (1, 2)
  assert np.all(np.abs(action.numpy()) <= 10)
  assert policy.action(ts.restart(tf.ones([4]))).action.shape == (2,)
  batched = TFPyPolicy(RandomPyPolicy(py_ts_spec, spec), py_policy_is_batched=True)
  assert batched.action(_batch_time_step(5)).action.shape == (5, 2)
  with pytest.raises(ValueError, match="time_step_spec is None"):
    TFPyPolicy(RandomPyPolicy(None, spec))
  # A stateful py policy: its state goes through numpy and back as an int32 tensor.
  scripted = TFPyPolicy(ScriptedPyPolicy(py_ts_spec, spec, [(1, [5, 2]), (2, [1, 2])]))
  state, actions = scripted.get_initial_state(), []
  for _ in range(3):
    step = scripted.action(ts.restart(tf.ones([4])), state)
    actions.append(step.action.numpy().tolist())
    state = step.state
  assert actions == [[5, 2], [1, 2], [1, 2]] and state.numpy().tolist() == [1, 2]


def test_dqn_agent_trains_with_v1_adam_optimizer():
  obs_spec = tensor_spec.TensorSpec((2,), tf.float32)
  action_spec = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
  agent = DqnAgent(ts.time_step_spec(obs_spec), action_spec,
                   q_network=QNetwork(obs_spec, action_spec),
                   optimizer=tf.compat.v1.train.AdamOptimizer(0.001))
  agent.initialize()
  before = [v.numpy() for v in agent.q_network.trainable_variables]
  experience = Trajectory(
      step_type=tf.constant([[0, 1], [1, 1]], tf.int32),
      observation=tf.constant([[[1.0, 0.0], [0.0, 1.0]], [[0.5, 0.5], [1.0, 1.0]]]),
      action=tf.constant([[0, 2], [1, 0]], tf.int32), policy_info=(),
      next_step_type=tf.constant([[1, 1], [1, 2]], tf.int32),
      reward=tf.constant([[1.0, 0.0], [-1.0, 0.0]]), discount=tf.ones([2, 2]))
  loss = agent.train(experience).loss.numpy()
  assert np.isfinite(loss) and loss > 0
  after = agent.q_network.trainable_variables
  assert any(not np.allclose(b, a.numpy()) for b, a in zip(before, after))
  assert int(agent.train_step_counter.numpy()) == 1
