"""StochasticActorPolicy: samples an actor network's distribution and records the sample's log-prob."""

from typing import Any, NamedTuple, Optional

import tensorflow as tf

from rlrun.policies.actor_policy import ActorPolicy
from rlrun.specs import tensor_spec
from rlrun.trajectories import PolicyStep


class LogProbInfo(NamedTuple):
  """What a StochasticActorPolicy records with each action."""
  log_prob: Any  # log pi(sample | observation)
  sample: Any  # the sampled action before clipping to the spec's bounds


def log_prob_info_spec(action_spec: Any) -> LogProbInfo:
  action = tf.nest.flatten(tensor_spec.from_spec(action_spec))[0]
  return LogProbInfo(log_prob=tf.TensorSpec([], tf.float32, name="log_prob"),
                     sample=tf.TensorSpec(action.shape, action.dtype, name="sample"))


class StochasticActorPolicy(ActorPolicy):
  """Acts by sampling the actor network's distribution; PolicyStep.info is a LogProbInfo,
  what an on-policy learner needs to weigh the sample later (the action itself is
  clipped to the spec's bounds, the recorded sample is not).

  Args:
    time_step_spec: TimeStep spec (no batch dim).
    action_spec: a single (bounded) action spec.
    actor_network: observation -> distribution (e.g. networks.ActorDistributionNetwork).
    name: the module's name.
  """

  def __init__(self, time_step_spec: Any, action_spec: Any, actor_network: Any,
               name: Optional[str] = None):
    super().__init__(time_step_spec, action_spec, actor_network,
                     info_spec=log_prob_info_spec(action_spec), name=name)

  def as_numpy_policy(self, greedy: bool = False) -> Optional[Any]:
    if greedy:
      return super().as_numpy_policy(greedy=True)
    from rlrun.policies.numpy_actor_policy import NumpyActorPolicy
    return NumpyActorPolicy.of(self, log_probs=True)

  def _action(self, time_step, policy_state, seed) -> PolicyStep:
    step = self._distribution(time_step, policy_state)
    distribution = tf.nest.flatten(step.action)[0]
    sample = distribution.sample(seed=seed)
    info = LogProbInfo(tf.cast(distribution.log_prob(sample), tf.float32), sample)
    return PolicyStep(tf.nest.pack_sequence_as(self.action_spec, [sample]), step.state, info)
