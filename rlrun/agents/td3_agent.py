"""Td3Agent: twin delayed deep deterministic policy gradients (Fujimoto et al. 2018)."""

from typing import Any, Callable, NamedTuple, Optional

import gin
import tensorflow as tf

from rlrun.agents.tf_agent import LossInfo, TFAgent, build_optimizers, check_number, minimize
from rlrun.networks.actor_network import action_bounds
from rlrun.policies.actor_policy import ActorPolicy
from rlrun.policies.gaussian_policy import GaussianPolicy
from rlrun.specs import tensor_spec
from rlrun.trajectories import StepType
from rlrun.utils import target_update


class Td3LossInfo(NamedTuple):
  critic_loss: tf.Tensor
  actor_loss: tf.Tensor  # 0 on the steps the actor is not updated
  q_value: tf.Tensor
  td_error: tf.Tensor


@gin.configurable(module="agents")
class Td3Agent(TFAgent):
  """TD3 for bounded continuous actions.

  Every train step updates twin critics towards r + gamma * d * min(Q'_1, Q'_2)(s',
  a'), where a' is the target actor's action plus clipped Gaussian noise (target
  policy smoothing). Every `actor_update_period` steps the actor follows
  grad Q_1(s, actor(s)) and the target actor and critics move by `target_update_tau`.
  Noise scales are fractions of the action range's half width (as RL Zoo's are of
  the [-1, 1] range it acts in).

  Args:
    time_step_spec: TimeStep spec of the environment.
    action_spec: a bounded float action spec.
    actor_network: observation -> action (e.g. networks.ActorNetwork); the target actor
      is a copy.
    critic_network: (observation, action) -> Q [B]; the second and target critics are copies.
    actor_optimizer, critic_optimizer: Keras optimizers.
    exploration_noise_std: std of the collect policy's Gaussian noise (x half range).
    target_policy_noise: std of the smoothing noise on target actions (x half range).
    target_policy_noise_clip: the smoothing noise is clipped to +- this (x half range).
    actor_update_period: train steps per actor and target update (the "delay").
    target_update_tau: Polyak factor of the target networks.
    td_errors_loss_fn: element-wise critic loss of (targets, predictions).
    gamma: discount factor on top of the environment's discounts.
    reward_scale_factor: multiplies rewards.
    gradient_clipping: clip each optimizer's gradients to this global norm.
    train_step_counter: an int64 variable incremented by `train`.
    seed: seeds the smoothing noise, drawn statelessly from (seed, train step).
    name: the module's name.
  """

  def __init__(self, time_step_spec, action_spec, actor_network, critic_network,
               actor_optimizer, critic_optimizer, exploration_noise_std: float = 0.1,
               target_policy_noise: float = 0.2, target_policy_noise_clip: float = 0.5,
               actor_update_period: int = 2, target_update_tau: float = 0.005,
               td_errors_loss_fn: Callable = tf.math.squared_difference, gamma: float = 0.99,
               reward_scale_factor: float = 1.0, gradient_clipping: Optional[float] = None,
               train_step_counter: Optional[tf.Variable] = None, seed: int = 0,
               name: str = "Td3Agent"):
    flat_actions = tf.nest.flatten(tensor_spec.from_spec(action_spec))
    if len(flat_actions) != 1 or not flat_actions[0].dtype.is_floating:
      raise ValueError(f"Td3Agent needs a single continuous action spec, got {action_spec}")
    if None in (actor_optimizer, critic_optimizer):
      raise ValueError("Td3Agent needs actor_optimizer and critic_optimizer, e.g. "
                       "agents.Td3Agent.actor_optimizer = @actor/tf.keras.optimizers.Adam()")
    if actor_update_period < 1 or not 0.0 < target_update_tau <= 1.0:
      raise ValueError(f"Td3Agent needs actor_update_period >= 1 and target_update_tau in "
                       f"(0, 1], got {actor_update_period} and {target_update_tau}")
    for label, value in (("exploration_noise_std", exploration_noise_std),
                         ("target_policy_noise", target_policy_noise),
                         ("target_policy_noise_clip", target_policy_noise_clip)):
      if value < 0:
        raise ValueError(f"Td3Agent.{label} must be >= 0, got {value}")
    time_step_spec = tensor_spec.from_spec(time_step_spec)
    observation_spec, action = time_step_spec.observation, flat_actions[0]
    half_range, _ = action_bounds(action, "Td3Agent")
    self._half_range = tf.constant(half_range, tf.float32)
    self._low = tf.constant(action.minimum, tf.float32) + tf.zeros(action.shape)
    self._high = tf.constant(action.maximum, tf.float32) + tf.zeros(action.shape)
    self._actor_network = actor_network
    self._target_actor_network = actor_network.copy(name="TargetActorNetwork")
    self._critic_network_1 = critic_network
    self._critic_network_2 = critic_network.copy(name="CriticNetwork2")
    self._target_critic_network_1 = critic_network.copy(name="TargetCriticNetwork1")
    self._target_critic_network_2 = critic_network.copy(name="TargetCriticNetwork2")
    for critic in (self._critic_network_1, self._critic_network_2,
                   self._target_critic_network_1, self._target_critic_network_2):
      critic.create_variables((observation_spec, action))
    self._target_actor_network.create_variables(observation_spec)
    policy = ActorPolicy(time_step_spec, action_spec, actor_network)
    collect_policy = GaussianPolicy(
        policy, scale=tf.nest.map_structure(lambda _: exploration_noise_std * half_range,
                                            action_spec), clip=True)
    super().__init__(time_step_spec, action_spec, policy, collect_policy,
                     train_sequence_length=2, train_step_counter=train_step_counter, name=name)
    self._actor_optimizer = actor_optimizer
    self._critic_optimizer = critic_optimizer
    self._target_policy_noise = target_policy_noise
    self._target_policy_noise_clip = target_policy_noise_clip
    self._actor_update_period = actor_update_period
    self._target_update_tau = target_update_tau
    self._td_errors_loss_fn = td_errors_loss_fn
    self._gamma = check_number("Td3Agent", "gamma", gamma, 0.0, 1.0)
    self._reward_scale_factor = reward_scale_factor
    self._gradient_clipping = gradient_clipping
    self._seed = int(seed) % (2 ** 30)

  @property
  def actor_network(self):
    return self._actor_network

  @property
  def critic_networks(self):
    return self._critic_network_1, self._critic_network_2

  def _critic_variables(self):
    return (self._critic_network_1.trainable_variables +
            self._critic_network_2.trainable_variables)

  def _pairs(self):
    """(online, target) network pairs."""
    return ((self._actor_network, self._target_actor_network),
            (self._critic_network_1, self._target_critic_network_1),
            (self._critic_network_2, self._target_critic_network_2))

  def _initialize(self) -> None:
    for source, target in self._pairs():
      target_update.soft_update(source.variables, target.variables, 1.0)
    build_optimizers(((self._critic_optimizer, self._critic_variables()),
                      (self._actor_optimizer, self._actor_network.trainable_variables)))

  def _apply(self, optimizer, loss_fn: Callable[[], tf.Tensor], variables) -> tf.Tensor:
    return minimize(optimizer, loss_fn, variables, self._gradient_clipping)

  def _train(self, experience, weights) -> LossInfo:
    valid = tf.cast(tf.not_equal(experience.step_type[:, 0], StepType.LAST), tf.float32)
    weights = valid if weights is None else valid * weights
    observation, action = experience.observation[:, 0], experience.action[:, 0]
    reward, discount = experience.reward[:, 0], experience.discount[:, 0]
    next_observation = experience.observation[:, 1]
    noise_seed = tf.stack([tf.constant(self._seed, tf.int32),
                           tf.cast(self.train_step_counter % (2 ** 31 - 1), tf.int32)])
    terms = []
    def critic_loss():
      loss, error, q_value = self._critic_terms(observation, action, reward, discount,
                                                next_observation, weights, noise_seed,
                                                training=True)
      terms.append((error, q_value))
      return loss
    critic_loss_value = self._apply(self._critic_optimizer, critic_loss,
                                    self._critic_variables())
    self.train_step_counter.assign_add(1)
    def update_actor():
      loss = self._apply(self._actor_optimizer,
                         lambda: self.actor_loss(observation, weights, training=True),
                         self._actor_network.trainable_variables)
      for source, target in self._pairs():
        target_update.soft_update(source.variables, target.variables, self._target_update_tau)
      return loss
    due = tf.equal(self.train_step_counter % self._actor_update_period, 0)
    actor_loss_value = tf.cond(due, update_actor, lambda: tf.constant(0.0))
    td_error, q_value = terms[0]
    # q_value: critic 1 before this step's update (no second forward pass for a summary).
    return LossInfo(critic_loss_value + actor_loss_value, Td3LossInfo(
        critic_loss=critic_loss_value, actor_loss=actor_loss_value,
        q_value=tf.reduce_mean(tf.stop_gradient(q_value)), td_error=td_error))

  def target_actions(self, next_observation, noise_seed) -> tf.Tensor:
    """The target actor's actions plus clipped smoothing noise, inside the bounds."""
    next_action, _ = self._target_actor_network(next_observation, training=False)
    next_action = tf.nest.flatten(next_action)[0]
    noise = tf.random.stateless_normal(tf.shape(next_action), noise_seed) * (
        self._target_policy_noise * self._half_range)
    limit = self._target_policy_noise_clip * self._half_range
    return tf.clip_by_value(next_action + tf.clip_by_value(noise, -limit, limit),
                            self._low, self._high)

  def critic_loss(self, observation, action, reward, discount, next_observation, weights,
                  noise_seed, training: bool = False):
    """Twin-critic TD loss towards the smoothed target; returns (loss, critic 1's TD error)."""
    loss, td_error, _ = self._critic_terms(observation, action, reward, discount,
                                           next_observation, weights, noise_seed, training)
    return loss, td_error

  def _critic_terms(self, observation, action, reward, discount, next_observation, weights,
                    noise_seed, training: bool = False):
    """(loss, critic 1's TD error, critic 1's Q-values) of the critic loss."""
    next_action = self.target_actions(next_observation, noise_seed)
    next_q = tf.minimum(
        self._target_critic_network_1((next_observation, next_action))[0],
        self._target_critic_network_2((next_observation, next_action))[0])
    td_target = tf.stop_gradient(self._reward_scale_factor * reward +
                                 self._gamma * discount * next_q)
    q_1, _ = self._critic_network_1((observation, action), training=training)
    q_2, _ = self._critic_network_2((observation, action), training=training)
    per_example = (self._td_errors_loss_fn(td_target, q_1) +
                   self._td_errors_loss_fn(td_target, q_2))
    return tf.reduce_mean(weights * per_example), td_target - q_1, q_1

  def actor_loss(self, observation, weights, training: bool = False) -> tf.Tensor:
    """-Q_1(s, actor(s)), averaged."""
    action, _ = self._actor_network(observation, training=training)
    q_value, _ = self._critic_network_1((observation, tf.nest.flatten(action)[0]))
    return -tf.reduce_mean(weights * q_value)


@gin.configurable(module="agents")
def create_td3_agent(time_step_spec, action_spec, train_step_counter: tf.Variable,
                     actor_network_fn: Callable[..., Any] = gin.REQUIRED,
                     critic_network_fn: Callable[..., Any] = gin.REQUIRED,
                     seed: int = 0) -> Td3Agent:
  """Builds the actor (observation -> action) and critic networks, then the agent.

  Every other Td3Agent argument comes from its gin bindings (agents.Td3Agent.*).
  """
  observation_spec = tensor_spec.from_spec(time_step_spec).observation
  action_spec = tensor_spec.from_spec(action_spec)
  actor = actor_network_fn(observation_spec, action_spec)
  critic = critic_network_fn((observation_spec, action_spec))
  return Td3Agent(time_step_spec, action_spec, actor_network=actor, critic_network=critic,
                  train_step_counter=train_step_counter, seed=seed)
