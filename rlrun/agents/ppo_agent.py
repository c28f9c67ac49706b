"""PpoAgent: proximal policy optimization with the clipped surrogate (Schulman et al. 2017).

One `train` call is one PPO update on one rollout: values of every observation, GAE(lambda)
advantages, then `num_epochs` passes over the rollout's steps in shuffled minibatches.
A rollout is a [B, T + 1] batch of Trajectories: B environments, T steps each, and one
more step whose observation bootstraps the value at the rollout's end (its action,
reward and info are not used).
"""

from typing import Any, Callable, NamedTuple, Optional

import gin
import tensorflow as tf

from rlrun.agents.reward_normalizer import RewardNormalizer
from rlrun.agents.tf_agent import LossInfo, TFAgent, build_optimizers, check_number, minimize
from rlrun.networks.projection_networks import UnsquashedNormalProjection
from rlrun.policies.actor_policy import ActorPolicy
from rlrun.policies.greedy_policy import GreedyPolicy
from rlrun.policies.stochastic_policy import StochasticActorPolicy
from rlrun.specs import tensor_spec
from rlrun.trajectories import StepType


class PpoLossInfo(NamedTuple):
  policy_loss: tf.Tensor
  value_loss: tf.Tensor
  entropy: tf.Tensor
  approx_kl: tf.Tensor  # mean of (ratio - 1) - log(ratio) over the updates
  clip_fraction: tf.Tensor  # share of steps whose ratio left [1 - clip, 1 + clip]


def generalized_advantages(rewards, discounts, values, episode_ends, gamma: float,
                           lambda_: float) -> tf.Tensor:
  """GAE(lambda) advantages of [B, T] steps.

  delta_t = r_t + gamma * discount_t * V_{t+1} - V_t and
  A_t = delta_t + gamma * lambda * (1 - end_t) * A_{t+1}, with A_T = 0.

  Args:
    rewards, discounts: [B, T]; discount_t is the environment's (0 when the episode
      terminated at t + 1; kept when it was truncated, which then bootstraps from the
      value of the final observation).
    values: [B, T + 1]: V of each step's observation and of the observation after
      the last step (the rollout's bootstrap).
    episode_ends: [B, T] bools: the episode ended after step t (the next time step is
      LAST), so A_t does not accumulate the next episode's advantages.
    gamma, lambda_: discount and GAE factor.
  """
  rewards = tf.convert_to_tensor(rewards, tf.float32)
  values = tf.convert_to_tensor(values, tf.float32)
  discounts = tf.convert_to_tensor(discounts, tf.float32)
  continues = 1.0 - tf.cast(episode_ends, tf.float32)
  deltas = rewards + gamma * discounts * values[:, 1:] - values[:, :-1]
  # Scan backwards over time: [T, B] with the last step first.
  reverse = lambda x: tf.reverse(tf.transpose(x), axis=[0])
  advantages = tf.scan(lambda next_advantage, inputs: inputs[0] + gamma * lambda_ * inputs[1] *
                       next_advantage, (reverse(deltas), reverse(continues)),
                       initializer=tf.zeros_like(deltas[:, 0]))
  return tf.transpose(tf.reverse(advantages, axis=[0]))


def clipped_surrogate(log_prob, old_log_prob, advantages, clip_range) -> tf.Tensor:
  """Per-step loss -min(ratio * A, clip(ratio, 1 - c, 1 + c) * A), ratio = pi / pi_old."""
  ratio = tf.exp(log_prob - old_log_prob)
  clipped = tf.clip_by_value(ratio, 1.0 - clip_range, 1.0 + clip_range)
  return -tf.minimum(ratio * advantages, clipped * advantages)


def _masked_mean(x, mask) -> tf.Tensor:
  return tf.reduce_sum(x * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


@gin.configurable(module="agents")
class PpoAgent(TFAgent):
  """PPO with the clipped surrogate, a value loss and an entropy bonus, on one optimizer.

  Steps whose time step is LAST (the environment's reset, not a transition) carry no
  weight. Advantages are normalised per minibatch.

  Args:
    time_step_spec: TimeStep spec of the environment.
    action_spec: one discrete or continuous action spec.
    actor_network: observation -> action distribution (networks.ActorDistributionNetwork).
    value_network: observation -> V(s) (networks.ValueNetwork).
    optimizer: a Keras optimizer over both networks' variables.
    num_epochs: passes over each rollout.
    minibatch_size: steps per gradient step (None: the whole rollout); it must divide
      the rollout's B * T steps.
    clip_range: c of the clipped surrogate.
    value_loss_coef: weight of the value loss (mean squared error to the returns).
    entropy_coef: weight of the entropy bonus.
    gamma: discount factor on top of the environment's discounts.
    gae_lambda: lambda of GAE.
    normalize_advantages: standardise advantages in each minibatch.
    max_grad_norm: clip the gradients to this global norm (None: no clipping).
    linear_decay_steps: when set, the learning rate and clip range fall linearly from
      their initial values to 0 over this many train steps (RL Zoo's `lin_` schedules).
    reward_scale_factor: multiplies rewards.
    normalize_rewards: divide rewards (after `reward_scale_factor`) by a running standard
      deviation of the discounted return (gamma) and clip them to [-10, 10] for learning,
      close to RL Baselines3 Zoo's `normalize: true` (agents.reward_normalizer). The
      return restarts at each rollout's first step, so with short rollouts (T well below
      1 / (1 - gamma)) its spread, the divisor, is smaller than over whole episodes.
    train_step_counter: an int64 variable incremented by every `train` (one per rollout).
    seed: seeds the minibatch shuffles, drawn statelessly from (seed, train step).
    name: the module's name.
  """

  def __init__(self, time_step_spec, action_spec, actor_network, value_network, optimizer,
               num_epochs: int = 10, minibatch_size: Optional[int] = None,
               clip_range: float = 0.2, value_loss_coef: float = 0.5, entropy_coef: float = 0.0,
               gamma: float = 0.99, gae_lambda: float = 0.95, normalize_advantages: bool = True,
               max_grad_norm: Optional[float] = 0.5, linear_decay_steps: Optional[int] = None,
               reward_scale_factor: float = 1.0, normalize_rewards: bool = False,
               train_step_counter: Optional[tf.Variable] = None, seed: int = 0,
               name: str = "PpoAgent"):
    if optimizer is None:
      raise ValueError("PpoAgent needs an optimizer, e.g. agents.PpoAgent.optimizer = "
                       "@tf.keras.optimizers.Adam()")
    if num_epochs < 1 or (minibatch_size is not None and minibatch_size < 1):
      raise ValueError(f"PpoAgent needs num_epochs >= 1 and minibatch_size >= 1, got "
                       f"{num_epochs} and {minibatch_size}")
    if not 0.0 < clip_range < 1.0 or not 0.0 <= gae_lambda <= 1.0:
      raise ValueError(f"PpoAgent needs clip_range in (0, 1) and gae_lambda in [0, 1], got "
                       f"{clip_range} and {gae_lambda}")
    if linear_decay_steps is not None and linear_decay_steps < 1:
      raise ValueError(f"PpoAgent.linear_decay_steps must be >= 1 or None, got "
                       f"{linear_decay_steps}")
    time_step_spec = tensor_spec.from_spec(time_step_spec)
    action_spec = tensor_spec.from_spec(action_spec)
    if len(tf.nest.flatten(time_step_spec.observation)) != 1:
      raise ValueError(f"PpoAgent needs a single observation tensor, got "
                       f"{time_step_spec.observation}; flatten the observations (e.g. "
                       "wrappers.FlattenObservationsWrapper)")
    projection = getattr(actor_network, "projection_network", None)
    if (tf.nest.flatten(action_spec)[0].dtype.is_floating and
        not isinstance(projection, UnsquashedNormalProjection)):
      # A squashed distribution's log-prob of a recorded sample at the bounds is not finite.
      raise ValueError("PpoAgent's continuous actor needs networks.NormalProjectionNetwork (or "
                       "networks.StateDependentNormalProjectionNetwork, gSDE): set "
                       "networks.ActorDistributionNetwork.continuous_projection_net = "
                       "@networks.NormalProjectionNetwork")
    self._actor_network = actor_network
    self._value_network = value_network
    value_network.create_variables(time_step_spec.observation)
    policy = GreedyPolicy(ActorPolicy(time_step_spec, action_spec, actor_network))
    collect_policy = StochasticActorPolicy(time_step_spec, action_spec, actor_network)
    super().__init__(time_step_spec, action_spec, policy, collect_policy,
                     train_sequence_length=None, train_step_counter=train_step_counter,
                     name=name)
    self._optimizer = optimizer
    self._num_epochs = int(num_epochs)
    self._minibatch_size = minibatch_size
    self._clip_range = float(clip_range)
    self._value_loss_coef = value_loss_coef
    self._entropy_coef = entropy_coef
    self._gamma = check_number("PpoAgent", "gamma", gamma, 0.0, 1.0)
    self._gae_lambda = gae_lambda
    self._normalize_advantages = normalize_advantages
    self._max_grad_norm = max_grad_norm
    self._linear_decay_steps = linear_decay_steps
    self._reward_scale_factor = reward_scale_factor
    self._reward_normalizer = RewardNormalizer(self._gamma) if normalize_rewards else None
    self._seed = int(seed) % (2 ** 30)
    self._initial_learning_rate = None
    if linear_decay_steps is not None:
      if not isinstance(getattr(optimizer, "learning_rate", None), tf.Variable):
        raise ValueError("PpoAgent.linear_decay_steps needs an optimizer with a constant "
                         "learning rate (it decays it); drop the optimizer's schedule")
      self._initial_learning_rate = float(optimizer.learning_rate.numpy())

  @property
  def actor_network(self):
    return self._actor_network

  @property
  def value_network(self):
    return self._value_network

  def _variables(self):
    return self._actor_network.trainable_variables + self._value_network.trainable_variables

  def _initialize(self) -> None:
    build_optimizers(((self._optimizer, self._variables()),))

  def rollout_steps_check(self, rollout_steps: int) -> None:
    """Raises ValueError (one line) when minibatch_size does not divide the rollout."""
    if self._minibatch_size is not None and rollout_steps % self._minibatch_size:
      raise ValueError(f"PpoAgent: the minibatch size {self._minibatch_size} does not divide "
                       f"the rollout of {rollout_steps} steps; choose a divisor of {rollout_steps}")

  def advantages(self, experience):
    """(advantages, returns, values) of the rollout's first T steps, each [B, T].

    With normalize_rewards, each call also updates the running reward statistics.
    """
    values, _ = self._value_network(experience.observation, training=False)
    values = tf.stop_gradient(values)
    rewards = self._reward_scale_factor * experience.reward[:, :-1]
    if self._reward_normalizer is not None:
      rewards = self._reward_normalizer.normalize(rewards, experience.step_type[:, :-1])
    advantages = generalized_advantages(
        rewards, experience.discount[:, :-1],
        values, tf.equal(experience.next_step_type[:, :-1], StepType.LAST), self._gamma,
        self._gae_lambda)
    return advantages, advantages + values[:, :-1], values[:, :-1]

  def _train(self, experience, weights) -> LossInfo:
    del weights  # every step of a rollout counts once
    advantages, returns, _ = self.advantages(experience)
    flatten = lambda x: tf.reshape(x[:, :-1], tf.concat([[-1], tf.shape(x)[2:]], 0))
    steps = dict(observation=flatten(experience.observation),
                 action=flatten(experience.policy_info.sample),
                 old_log_prob=flatten(experience.policy_info.log_prob),
                 advantage=tf.reshape(advantages, [-1]), value_target=tf.reshape(returns, [-1]),
                 mask=flatten(tf.cast(tf.not_equal(experience.step_type, StepType.LAST),
                                      tf.float32)))
    count = tf.nest.flatten(experience.step_type)[0].shape
    num_steps = int(count[0]) * (int(count[1]) - 1)
    self.rollout_steps_check(num_steps)
    minibatch = self._minibatch_size or num_steps
    per_epoch = num_steps // minibatch
    clip_range = tf.constant(self._clip_range)
    step = tf.cast(self.train_step_counter, tf.float32)
    if self._linear_decay_steps is not None:
      remaining = tf.maximum(0.0, 1.0 - step / float(self._linear_decay_steps))
      self._optimizer.learning_rate.assign(self._initial_learning_rate * remaining)
      clip_range = clip_range * remaining
    seed = tf.stack([tf.constant(self._seed, tf.int32),
                     tf.cast(self.train_step_counter % (2 ** 31 - 1), tf.int32)])
    order = tf.argsort(tf.random.stateless_uniform([self._num_epochs, num_steps], seed), axis=-1)

    def update(u, totals):
      indices = tf.slice(order, [u // per_epoch, (u % per_epoch) * minibatch], [1, minibatch])[0]
      batch = tf.nest.map_structure(lambda x: tf.gather(x, indices), steps)
      stats = []
      def loss_fn():
        loss, info = self.minibatch_loss(batch, clip_range, training=True)
        stats.append(info)
        return loss
      minimize(self._optimizer, loss_fn, self._variables(), self._max_grad_norm)
      return u + 1, tf.nest.map_structure(tf.add, totals, stats[0])

    zero = PpoLossInfo(*[tf.constant(0.0)] * len(PpoLossInfo._fields))
    updates = self._num_epochs * per_epoch
    _, totals = tf.while_loop(lambda u, _: u < updates, update, (tf.constant(0), zero))
    self.train_step_counter.assign_add(1)
    means = PpoLossInfo(*[t / updates for t in totals])
    loss = means.policy_loss + self._value_loss_coef * means.value_loss - (
        self._entropy_coef * means.entropy)
    return LossInfo(loss, means)

  def minibatch_loss(self, batch, clip_range, training: bool = False):
    """(total loss, PpoLossInfo) of one minibatch of flattened steps."""
    mask = batch["mask"]
    advantage = batch["advantage"]
    if self._normalize_advantages:
      mean = _masked_mean(advantage, mask)
      std = tf.sqrt(_masked_mean(tf.square(advantage - mean), mask))
      advantage = (advantage - mean) / (std + 1e-8)
    distribution, _ = self._actor_network(batch["observation"], training=training)
    distribution = tf.nest.flatten(distribution)[0]
    log_prob = tf.cast(distribution.log_prob(batch["action"]), tf.float32)
    policy_loss = _masked_mean(
        clipped_surrogate(log_prob, batch["old_log_prob"], advantage, clip_range), mask)
    value, _ = self._value_network(batch["observation"], training=training)
    value_loss = _masked_mean(tf.square(batch["value_target"] - value), mask)
    entropy = _masked_mean(tf.cast(distribution.entropy(), tf.float32), mask)
    log_ratio = log_prob - batch["old_log_prob"]
    ratio = tf.exp(log_ratio)
    approx_kl = _masked_mean((ratio - 1.0) - log_ratio, mask)
    clip_fraction = _masked_mean(
        tf.cast(tf.abs(ratio - 1.0) > clip_range, tf.float32), mask)
    loss = (policy_loss + self._value_loss_coef * value_loss - self._entropy_coef * entropy)
    return loss, PpoLossInfo(policy_loss, value_loss, entropy, tf.stop_gradient(approx_kl),
                             tf.stop_gradient(clip_fraction))


@gin.configurable(module="agents")
def create_ppo_agent(time_step_spec, action_spec, train_step_counter: tf.Variable,
                     actor_network_fn: Callable[..., Any] = gin.REQUIRED,
                     value_network_fn: Callable[..., Any] = gin.REQUIRED,
                     minibatch_size: Optional[int] = None, seed: int = 0) -> PpoAgent:
  """Builds the actor (observation -> distribution) and value networks, then the agent.

  Every other PpoAgent argument comes from its gin bindings (agents.PpoAgent.*); the
  builder passes the minibatch size (train.Experiment.batch_size).
  """
  observation_spec = tensor_spec.from_spec(time_step_spec).observation
  action_spec = tensor_spec.from_spec(action_spec)
  actor = actor_network_fn(observation_spec, action_spec)
  value = value_network_fn(observation_spec)
  return PpoAgent(time_step_spec, action_spec, actor_network=actor, value_network=value,
                  minibatch_size=minibatch_size, train_step_counter=train_step_counter,
                  seed=seed)
