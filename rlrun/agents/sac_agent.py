"""SacAgent: soft actor-critic (Haarnoja et al. 2018) with twin critics and a learned alpha."""

import logging
from typing import Any, Callable, NamedTuple, Optional

import gin
import numpy as np
import tensorflow as tf

from rlrun.agents.tf_agent import LossInfo, TFAgent, build_optimizers, check_number, minimize
from rlrun.networks.projection_networks import UnsquashedNormalProjection
from rlrun.policies.actor_policy import ActorPolicy
from rlrun.policies.greedy_policy import GreedyPolicy
from rlrun.specs import tensor_spec
from rlrun.trajectories import StepType
from rlrun.utils import target_update


class SacLossInfo(NamedTuple):
  critic_loss: tf.Tensor
  actor_loss: tf.Tensor
  alpha_loss: tf.Tensor
  alpha: tf.Tensor
  entropy: tf.Tensor
  q_value: tf.Tensor
  td_error: tf.Tensor


def _min_q(critic_1, critic_2, observation, action, training: bool = False) -> tf.Tensor:
  q_1, _ = critic_1((observation, action), training=training)
  q_2, _ = critic_2((observation, action), training=training)
  return tf.minimum(q_1, q_2)


@gin.configurable(module="agents")
class SacAgent(TFAgent):
  """Soft actor-critic for bounded continuous actions.

  Args:
    time_step_spec: TimeStep spec of the environment.
    action_spec: a bounded float action spec.
    critic_network: maps (observation, action) to Q-values [B]; a second critic and
      the two target critics are copies of it.
    actor_network: maps observations to an action distribution (e.g.
      ActorDistributionNetwork with a tanh-normal projection).
    actor_optimizer, critic_optimizer, alpha_optimizer: Keras optimizers.
    initial_log_alpha: starting log of the entropy temperature.
    target_entropy: the entropy alpha steers towards (default -dim(action)).
    target_update_tau: Polyak factor of the target critics.
    target_update_period: train steps between target updates.
    td_errors_loss_fn: element-wise critic loss of (targets, predictions).
    gamma: discount factor on top of the environment's discounts.
    reward_scale_factor: multiplies rewards.
    gradient_clipping: clip each optimizer's gradients to this global norm.
    train_step_counter: an int64 variable incremented by `train`.
    name: the module's name.
  """

  def __init__(self, time_step_spec, action_spec, critic_network, actor_network,
               actor_optimizer, critic_optimizer, alpha_optimizer,
               initial_log_alpha: float = 0.0, target_entropy: Optional[float] = None,
               target_update_tau: float = 0.005, target_update_period: int = 1,
               td_errors_loss_fn: Callable = tf.math.squared_difference, gamma: float = 0.99,
               reward_scale_factor: float = 1.0, gradient_clipping: Optional[float] = None,
               train_step_counter: Optional[tf.Variable] = None, name: str = "SacAgent",
               seed: int = 0):
    flat_actions = tf.nest.flatten(tensor_spec.from_spec(action_spec))
    if len(flat_actions) != 1 or not flat_actions[0].dtype.is_floating:
      raise ValueError(f"SacAgent needs a single continuous action spec, got {action_spec}")
    if None in (actor_optimizer, critic_optimizer, alpha_optimizer):
      raise ValueError("SacAgent needs actor_optimizer, critic_optimizer and alpha_optimizer, "
                       "e.g. agents.SacAgent.actor_optimizer = @actor/tf.keras.optimizers.Adam()")
    if not 0.0 < target_update_tau <= 1.0:
      raise ValueError(f"target_update_tau must be in (0, 1], got {target_update_tau}")
    if isinstance(getattr(actor_network, "projection_network", None),
                  UnsquashedNormalProjection):
      # Its samples leave the action bounds, and the entropy and Q-values SAC trains on
      # would be those of actions the environment never receives.
      raise ValueError("SacAgent's actor needs a squashed projection, got "
                       f"{type(actor_network.projection_network).__name__}: set "
                       "networks.ActorDistributionNetwork.continuous_projection_net = "
                       "@networks.TanhNormalProjectionNetwork")
    time_step_spec = tensor_spec.from_spec(time_step_spec)
    observation_spec = time_step_spec.observation
    self._actor_network = actor_network
    self._critic_network_1 = critic_network
    self._critic_network_2 = critic_network.copy(name="CriticNetwork2")
    self._target_critic_network_1 = critic_network.copy(name="TargetCriticNetwork1")
    self._target_critic_network_2 = critic_network.copy(name="TargetCriticNetwork2")
    for critic in (self._critic_network_1, self._critic_network_2,
                   self._target_critic_network_1, self._target_critic_network_2):
      critic.create_variables((observation_spec, flat_actions[0]))
    collect_policy = ActorPolicy(time_step_spec, action_spec, actor_network)
    super().__init__(time_step_spec, action_spec, GreedyPolicy(collect_policy), collect_policy,
                     train_sequence_length=2, train_step_counter=train_step_counter, name=name)
    self._log_alpha = tf.Variable(initial_log_alpha, dtype=tf.float32, name="log_alpha")
    self._target_entropy = (-float(np.prod(flat_actions[0].shape.as_list()))
                            if target_entropy is None else float(target_entropy))
    self._actor_optimizer = actor_optimizer
    self._critic_optimizer = critic_optimizer
    self._alpha_optimizer = alpha_optimizer
    self._target_update_tau = target_update_tau
    self._target_update_period = target_update_period
    self._td_errors_loss_fn = td_errors_loss_fn
    self._gamma = check_number("SacAgent", "gamma", gamma, 0.0, 1.0)
    self._reward_scale_factor = reward_scale_factor
    self._gradient_clipping = gradient_clipping
    self._seed = int(seed) % (2 ** 30)
    logging.info("SacAgent: target_entropy=%s gamma=%s target_update_tau=%s period=%d "
                 "reward_scale_factor=%s initial_log_alpha=%s", self._target_entropy, gamma,
                 target_update_tau, target_update_period, reward_scale_factor, initial_log_alpha)

  @property
  def actor_network(self):
    return self._actor_network

  @property
  def critic_networks(self):
    return self._critic_network_1, self._critic_network_2

  @property
  def target_critic_networks(self):
    return self._target_critic_network_1, self._target_critic_network_2

  @property
  def log_alpha(self) -> tf.Variable:
    return self._log_alpha

  def _critic_variables(self):
    return (self._critic_network_1.trainable_variables +
            self._critic_network_2.trainable_variables)

  def _initialize(self) -> None:
    for source, target in ((self._critic_network_1, self._target_critic_network_1),
                           (self._critic_network_2, self._target_critic_network_2)):
      target_update.soft_update(source.variables, target.variables, 1.0)
    build_optimizers(((self._critic_optimizer, self._critic_variables()),
                      (self._actor_optimizer, self._actor_network.trainable_variables),
                      (self._alpha_optimizer, [self._log_alpha])))

  def _apply(self, optimizer, loss_fn: Callable[[], tf.Tensor], variables) -> tf.Tensor:
    return minimize(optimizer, loss_fn, variables, self._gradient_clipping)

  def _train(self, experience, weights) -> LossInfo:
    batch = self._transitions(experience, weights)
    critic_variables = self._critic_variables()
    td_error = []
    def critic_loss():
      loss, error = self.critic_loss(*batch, training=True)
      td_error.append(error)
      return loss
    critic_loss_value = self._apply(self._critic_optimizer, critic_loss, critic_variables)
    extras = {}
    def actor_loss():
      loss, log_prob, q_value = self.actor_loss(batch[0], batch[5], batch[6], training=True)
      extras.update(log_prob=log_prob, q_value=q_value)
      return loss
    actor_loss_value = self._apply(self._actor_optimizer, actor_loss,
                                   self._actor_network.trainable_variables)
    alpha_loss_value = self._apply(
        self._alpha_optimizer,
        lambda: self.alpha_loss(extras["log_prob"], batch[5], batch[6]), [self._log_alpha])
    self.train_step_counter.assign_add(1)
    for source, target in ((self._critic_network_1, self._target_critic_network_1),
                           (self._critic_network_2, self._target_critic_network_2)):
      target_update.periodic_soft_update(self.train_step_counter, self._target_update_period,
                                         source.variables, target.variables,
                                         self._target_update_tau)
    total = critic_loss_value + actor_loss_value + alpha_loss_value
    return LossInfo(total, SacLossInfo(
        critic_loss=critic_loss_value, actor_loss=actor_loss_value, alpha_loss=alpha_loss_value,
        alpha=tf.exp(self._log_alpha), entropy=-tf.reduce_mean(extras["log_prob"]),
        q_value=tf.reduce_mean(extras["q_value"]), td_error=td_error[0]))

  def _sample_seed(self, stream: int) -> tf.Tensor:
    """A stateless seed from (seed, stream, train step): each step's draws are fixed by the
    seed and the step alone, so a resumed run draws exactly what an uninterrupted one does."""
    step = tf.cast(self.train_step_counter % (2 ** 31 - 1), tf.int32)
    return tf.stack([tf.constant(2 * self._seed + stream, tf.int32), step])

  def _transitions(self, experience, weights):
    """(observation, action, reward, discount, next_observation, valid, weights) of t -> t+1."""
    valid = tf.cast(tf.not_equal(experience.step_type[:, 0], StepType.LAST), tf.float32)
    weights = valid if weights is None else valid * weights
    return (experience.observation[:, 0], experience.action[:, 0], experience.reward[:, 0],
            experience.discount[:, 0], experience.observation[:, 1], valid, weights)

  def critic_loss(self, observation, action, reward, discount, next_observation, valid, weights,
                  training: bool = False):
    """Twin-critic TD loss; returns (loss, TD error of the first critic)."""
    next_distribution, _ = self._actor_network(next_observation, training=False)
    next_action = next_distribution.sample(seed=self._sample_seed(0))
    next_log_prob = next_distribution.log_prob(next_action)
    next_q = _min_q(self._target_critic_network_1, self._target_critic_network_2,
                    next_observation, next_action)
    # ---- soft Bellman target: r + gamma * d * (min target Q - alpha * log pi) --------
    soft_value = next_q - tf.exp(self._log_alpha) * next_log_prob
    td_target = tf.stop_gradient(self._reward_scale_factor * reward +
                                 self._gamma * discount * soft_value)
    q_1, _ = self._critic_network_1((observation, action), training=training)
    q_2, _ = self._critic_network_2((observation, action), training=training)
    per_example = (self._td_errors_loss_fn(td_target, q_1) +
                   self._td_errors_loss_fn(td_target, q_2))
    loss = tf.reduce_mean(weights * per_example)
    return loss, valid * (td_target - q_1)

  def actor_loss(self, observation, valid, weights, training: bool = False):
    """E[alpha * log pi(a|s) - min Q(s, a)], a ~ pi reparameterised; returns (loss, log pi, Q)."""
    distribution, _ = self._actor_network(observation, training=training)
    action = distribution.sample(seed=self._sample_seed(1))
    log_prob = distribution.log_prob(action)
    q_value = _min_q(self._critic_network_1, self._critic_network_2, observation, action)
    per_example = tf.stop_gradient(tf.exp(self._log_alpha)) * log_prob - q_value
    return tf.reduce_mean(weights * per_example), log_prob, q_value

  def alpha_loss(self, log_prob, valid, weights):
    """-log alpha * (log pi + target entropy): alpha rises when entropy is below target."""
    per_example = -self._log_alpha * tf.stop_gradient(log_prob + self._target_entropy)
    return tf.reduce_mean(weights * per_example)


@gin.configurable(module="agents")
def create_sac_agent(time_step_spec, action_spec, train_step_counter: tf.Variable,
                     critic_network_fn: Callable[..., Any] = gin.REQUIRED,
                     actor_network_fn: Callable[..., Any] = gin.REQUIRED,
                     seed: int = 0) -> SacAgent:
  """Builds the critic ((observation, action) -> Q) and actor networks, then the agent.

  Every other SacAgent argument comes from its gin bindings (agents.SacAgent.*).
  """
  observation_spec = tensor_spec.from_spec(time_step_spec).observation
  action_spec = tensor_spec.from_spec(action_spec)
  critic = critic_network_fn((observation_spec, action_spec))
  actor = actor_network_fn(observation_spec, action_spec)
  return SacAgent(time_step_spec, action_spec, critic_network=critic, actor_network=actor,
                  train_step_counter=train_step_counter, seed=seed)
