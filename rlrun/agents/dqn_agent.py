"""DqnAgent: Q-learning with a target network, n-step returns and optional double-Q."""

import logging
from typing import Any, Callable, NamedTuple, Optional, Union

import gin
import tensorflow as tf

from rlrun.agents.tf_agent import LossInfo, TFAgent, apply_gradients, check_number
from rlrun.networks.q_network import num_actions_of
from rlrun.policies.epsilon_greedy_policy import EpsilonGreedyPolicy
from rlrun.policies.greedy_policy import GreedyPolicy
from rlrun.policies.q_policy import QPolicy
from rlrun.policies.tf_policy import action_offset
from rlrun.trajectories import StepType
from rlrun.utils import losses, target_update


class DqnLossInfo(NamedTuple):
  td_loss: tf.Tensor
  td_error: tf.Tensor


class NStepTargets(NamedTuple):
  """What a Q-learning loss needs from a batch of items (see DqnAgent.n_step_targets)."""
  actions: tf.Tensor  # [B] the first step's action, from 0
  returns: tf.Tensor  # [B] discounted rewards up to the bootstrap
  bootstrap_discount: tf.Tensor  # [B] gamma^k times the environment's discounts
  bootstrap_observation: tf.Tensor  # [B, ...]
  valid: tf.Tensor  # [B] 0 for items that start on an episode boundary


@gin.configurable(module="agents")
class DqnAgent(TFAgent):
  """Deep Q-learning (Mnih et al. 2015) with the usual options.

  Args:
    time_step_spec: TimeStep spec of the environment.
    action_spec: a scalar bounded integer action spec.
    q_network: maps observations to [B, num_actions] Q-values.
    optimizer: a Keras optimizer, or a tf.compat.v1.train one (e.g. AdamOptimizer).
    epsilon_greedy: exploration rate of the collect policy: a float, or a function of
      the train step (e.g. `schedules.linear_decay`).
    n_step_update: number of rewards summed before bootstrapping; training items span
      n_step_update + 1 steps.
    target_q_network: the target network (default: a copy of `q_network`).
    target_update_tau: Polyak factor of target updates (1.0 = hard copy).
    target_update_period: train steps between target updates.
    td_errors_loss_fn: element-wise loss of (td_targets, q_values); default Huber.
    gamma: discount factor applied on top of the environment's discounts.
    reward_scale_factor: multiplies rewards.
    reward_clipping: clips (scaled) rewards to [-reward_clipping, reward_clipping] in the
      loss (Atari's 1.0); None: no clipping. Returns reported by metrics are unclipped.
    gradient_clipping: clip gradients to this global norm (None: no clipping).
    double_q: pick the bootstrap action with the online network (Double DQN).
    train_step_counter: an int64 variable incremented by `train`.
    name: the module's name.
  """

  def __init__(self, time_step_spec, action_spec, q_network, optimizer,
               epsilon_greedy: Union[float, Callable[[tf.Tensor], Any]] = 0.1,
               n_step_update: int = 1, target_q_network=None, target_update_tau: float = 1.0,
               target_update_period: int = 1, td_errors_loss_fn: Optional[Callable] = None,
               gamma: float = 1.0, reward_scale_factor: float = 1.0,
               gradient_clipping: Optional[float] = None, double_q: bool = False,
               train_step_counter: Optional[tf.Variable] = None, name: str = "DqnAgent",
               reward_clipping: Optional[float] = None):
    num_actions_of(action_spec)  # Raises with the spec when it is not a scalar discrete one.
    if n_step_update < 1:
      raise ValueError(f"n_step_update must be >= 1, got {n_step_update}")
    if not 0.0 < target_update_tau <= 1.0:
      raise ValueError(f"target_update_tau must be in (0, 1], got {target_update_tau}")
    if target_update_period < 1:
      raise ValueError(f"target_update_period must be >= 1, got {target_update_period}")
    if reward_clipping is not None and not reward_clipping > 0:
      raise ValueError(f"reward_clipping must be > 0 or None, got {reward_clipping}")
    if optimizer is None:
      raise ValueError("DqnAgent needs an optimizer, e.g. DqnAgent.optimizer = "
                       "@tf.keras.optimizers.Adam() in gin")
    if not callable(getattr(optimizer, "apply_gradients", None)):
      raise TypeError(f"DqnAgent's optimizer must have apply_gradients (a Keras or "
                      f"tf.compat.v1.train optimizer), got {type(optimizer).__name__}: "
                      f"{optimizer!r}")
    self._q_network = q_network
    self._target_q_network = target_q_network or q_network.copy(name="TargetQNetwork")
    q_policy = QPolicy(time_step_spec, action_spec, q_network)
    self._target_q_network.create_variables(q_policy.time_step_spec.observation)
    policy = GreedyPolicy(q_policy)
    if train_step_counter is None:
      train_step_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="train_step",
                                       aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    if callable(epsilon_greedy):
      # Evaluated once now: a schedule that cannot run fails at build time, and its
      # gin bindings count as used.
      epsilon_greedy(train_step_counter)
    epsilon = ((lambda: epsilon_greedy(train_step_counter)) if callable(epsilon_greedy)
               else epsilon_greedy)
    collect_policy = EpsilonGreedyPolicy(policy, epsilon)
    super().__init__(time_step_spec, action_spec, policy, collect_policy,
                     train_sequence_length=n_step_update + 1,
                     train_step_counter=train_step_counter, name=name)
    self._optimizer = optimizer
    self._n_step_update = n_step_update
    self._target_update_tau = target_update_tau
    self._target_update_period = target_update_period
    self._td_errors_loss_fn = td_errors_loss_fn or losses.element_wise_huber_loss
    self._gamma = check_number("DqnAgent", "gamma", gamma, 0.0, 1.0)
    self._reward_scale_factor = reward_scale_factor
    self._reward_clipping = reward_clipping
    self._gradient_clipping = gradient_clipping
    self._double_q = double_q
    self._action_offset = int(action_offset(self.action_spec))
    logging.info("DqnAgent: epsilon_greedy=%s n_step_update=%d gamma=%s "
                 "target_update_tau=%s target_update_period=%d reward_scale_factor=%s "
                 "gradient_clipping=%s double_q=%s loss=%s", epsilon_greedy, n_step_update,
                 gamma, target_update_tau, target_update_period, reward_scale_factor,
                 gradient_clipping, double_q, getattr(self._td_errors_loss_fn, "__name__", "?"))

  @property
  def q_network(self):
    return self._q_network

  @property
  def target_q_network(self):
    return self._target_q_network

  @property
  def optimizer(self):
    return self._optimizer

  def _initialize(self) -> None:
    target_update.soft_update(self._q_network.variables, self._target_q_network.variables, 1.0)
    # Keras optimizers create their slots in build(); tf.compat.v1.train optimizers
    # have no build() and create slots lazily in apply_gradients.
    if isinstance(self._optimizer, tf.keras.optimizers.Optimizer):
      self._optimizer.build(self._q_network.trainable_variables)

  def _train(self, experience, weights) -> LossInfo:
    variables = self._q_network.trainable_variables
    with tf.GradientTape() as tape:
      loss_info = self.loss(experience, weights=weights, training=True)
      # Each replica averages its share of the batch; the optimizer sums replicas.
      replica_loss = losses.scale_for_replicas(loss_info.loss)
    gradients = tape.gradient(replica_loss, variables)
    apply_gradients(self._optimizer, gradients, variables, self._gradient_clipping)
    self.train_step_counter.assign_add(1)
    target_update.periodic_soft_update(self.train_step_counter, self._target_update_period,
                                       self._q_network.variables,
                                       self._target_q_network.variables,
                                       self._target_update_tau)
    return loss_info

  def n_step_targets(self, experience) -> "NStepTargets":
    """The n-step returns of a batch of [B, n_step_update + 1] Trajectories and where to
    bootstrap them from; the return is cut at the end of the episode."""
    n = self._n_step_update
    rewards = self._reward_scale_factor * experience.reward[:, :n]
    if self._reward_clipping is not None:
      rewards = tf.clip_by_value(rewards, -self._reward_clipping, self._reward_clipping)
    discounts = experience.discount[:, :n]
    ended = tf.cast(tf.equal(experience.next_step_type[:, :n], StepType.LAST), tf.float32)
    # Step k counts only while no earlier step of the item ended the episode.
    in_episode = tf.math.cumprod(1.0 - ended, axis=1, exclusive=True)
    gammas = tf.pow(tf.constant(self._gamma, tf.float32), tf.range(n, dtype=tf.float32))
    earlier_discounts = tf.math.cumprod(discounts, axis=1, exclusive=True)
    returns = tf.reduce_sum(in_episode * gammas * earlier_discounts * rewards, axis=1)
    # Bootstrap from the observation after the last counted step. A termination has
    # discount 0, so nothing is bootstrapped; a truncation (time limit) keeps discount 1
    # and bootstraps from the final observation.
    num_counted = tf.cast(tf.reduce_sum(in_episode, axis=1), tf.int32)
    bootstrap_discount = (tf.pow(self._gamma, tf.cast(num_counted, tf.float32)) *
                          tf.gather(tf.math.cumprod(discounts, axis=1), num_counted - 1,
                                    batch_dims=1))
    step_type = experience.step_type[:, 0]
    return NStepTargets(
        actions=tf.cast(experience.action[:, 0], tf.int32) - self._action_offset,
        returns=returns, bootstrap_discount=bootstrap_discount,
        bootstrap_observation=tf.gather(experience.observation, num_counted, batch_dims=1),
        # Items that start on an episode boundary are not transitions.
        valid=tf.cast(tf.not_equal(step_type, StepType.LAST), tf.float32))

  def loss(self, experience, weights=None, training: bool = False) -> LossInfo:
    """The TD loss of a batch of [B, n_step_update + 1] Trajectories."""
    targets = self.n_step_targets(experience)
    q_values, _ = self._q_network(experience.observation[:, 0],
                                  step_type=experience.step_type[:, 0], training=training)
    q_taken = tf.gather(q_values, targets.actions, batch_dims=1)
    next_q_values = self._bootstrap_q_values(targets.bootstrap_observation)
    td_targets = tf.stop_gradient(targets.returns + targets.bootstrap_discount * next_q_values)
    td_error = targets.valid * (td_targets - q_taken)
    td_loss = targets.valid * self._td_errors_loss_fn(td_targets, q_taken)
    return self._weighted(td_loss, td_error, weights)

  def _weighted(self, td_loss, td_error, weights) -> LossInfo:
    if weights is not None:
      td_loss = td_loss * weights
    loss = tf.reduce_mean(td_loss)
    if self._q_network.losses:
      loss += tf.add_n(self._q_network.losses)
    return LossInfo(loss, DqnLossInfo(td_loss=td_loss, td_error=td_error))

  def _bootstrap_actions(self, observation, target_q_values) -> tf.Tensor:
    """The actions whose target values bootstrap: the target's argmax, or the online
    network's (double Q)."""
    if not self._double_q:
      return tf.argmax(target_q_values, axis=-1, output_type=tf.int32)
    online_q_values, _ = self._q_network(observation)
    return tf.argmax(online_q_values, axis=-1, output_type=tf.int32)

  def _bootstrap_q_values(self, observation) -> tf.Tensor:
    target_q_values, _ = self._target_q_network(observation)
    return tf.gather(target_q_values, self._bootstrap_actions(observation, target_q_values),
                     batch_dims=1)


@gin.configurable(module="agents")
def create_dqn_agent(time_step_spec, action_spec, train_step_counter: tf.Variable,
                     q_network_fn: Callable[..., Any] = gin.REQUIRED) -> DqnAgent:
  """Builds the Q-network for the environment's specs, then the DqnAgent around it.

  Every other DqnAgent argument comes from its own gin bindings (agents.DqnAgent.*).
  """
  q_network = q_network_fn(time_step_spec.observation, action_spec)
  return DqnAgent(time_step_spec, action_spec, q_network=q_network,
                  train_step_counter=train_step_counter)
