"""C51Agent: categorical DQN (Bellemare et al. 2017), a distribution of returns per action."""

from typing import Any, Callable

import gin
import tensorflow as tf

from rlrun.agents.dqn_agent import DqnAgent
from rlrun.agents.tf_agent import LossInfo


def project_distribution(support: tf.Tensor, target_atoms: tf.Tensor,
                         probabilities: tf.Tensor) -> tf.Tensor:
  """Projects probabilities sitting on target_atoms [B, N] onto `support` [N].

  Each target atom, clipped to the support's ends, gives its probability to the two
  nearest support atoms in proportion to closeness (all of it when it lands on one):
  projected_i = sum_j p_j * max(0, 1 - |clip(z'_j) - z_i| / dz) for evenly spaced atoms.
  """
  delta = support[1] - support[0]
  clipped = tf.clip_by_value(target_atoms, support[0], support[-1])
  # [B, N (support i), N (target j)]
  closeness = 1.0 - tf.abs(clipped[:, None, :] - support[None, :, None]) / delta
  return tf.reduce_sum(tf.maximum(closeness, 0.0) * probabilities[:, None, :], axis=-1)


@gin.configurable(module="agents")
class C51Agent(DqnAgent):
  """DQN whose network predicts, per action, probabilities over a fixed support of returns.

  The target is the target network's distribution for the bootstrap action (its
  highest expected value, or the online network's choice with double_q), shifted by
  the n-step return and scaled by the bootstrap discount, projected back onto the
  support; the loss is the cross-entropy to it. Every other argument is DqnAgent's
  (td_errors_loss_fn is not used); the collect and greedy policies act on the
  expected Q-values.

  Args:
    q_network: a networks.CategoricalQNetwork.
  """

  def __init__(self, time_step_spec, action_spec, q_network, optimizer, **kwargs):
    if not callable(getattr(q_network, "logits", None)):
      raise ValueError(f"C51Agent needs a networks.CategoricalQNetwork, got "
                       f"{type(q_network).__name__}")
    super().__init__(time_step_spec, action_spec, q_network, optimizer,
                     name=kwargs.pop("name", "C51Agent"), **kwargs)

  def loss(self, experience, weights=None, training: bool = False) -> LossInfo:
    targets = self.n_step_targets(experience)
    support = self._q_network.support
    logits = self._q_network.logits(experience.observation[:, 0],
                                    step_type=experience.step_type[:, 0], training=training)
    logits_taken = tf.gather(logits, targets.actions, batch_dims=1)  # [B, N]
    observation = targets.bootstrap_observation
    target_logits = self._target_q_network.logits(observation)
    target_q_values = tf.reduce_sum(tf.nn.softmax(target_logits) * support, axis=-1)
    next_probabilities = tf.nn.softmax(tf.gather(
        target_logits, self._bootstrap_actions(observation, target_q_values), batch_dims=1))
    target_atoms = (targets.returns[:, None] + targets.bootstrap_discount[:, None] *
                    support[None, :])
    target = tf.stop_gradient(project_distribution(support, target_atoms, next_probabilities))
    cross_entropy = -tf.reduce_sum(target * tf.nn.log_softmax(logits_taken), axis=-1)
    q_taken = tf.reduce_sum(tf.nn.softmax(logits_taken) * support, axis=-1)
    td_error = targets.valid * (tf.reduce_sum(target * support, axis=-1) - q_taken)
    return self._weighted(targets.valid * cross_entropy, tf.stop_gradient(td_error), weights)


@gin.configurable(module="agents")
def create_c51_agent(time_step_spec, action_spec, train_step_counter: tf.Variable,
                     q_network_fn: Callable[..., Any] = gin.REQUIRED) -> C51Agent:
  """Builds the categorical Q-network for the environment's specs, then the C51Agent.

  Every other C51Agent (DqnAgent) argument comes from agents.C51Agent.* bindings.
  """
  q_network = q_network_fn(time_step_spec.observation, action_spec)
  return C51Agent(time_step_spec, action_spec, q_network=q_network,
                  train_step_counter=train_step_counter)
