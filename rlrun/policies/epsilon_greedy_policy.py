"""EpsilonGreedyPolicy: a random action with probability epsilon, else the wrapped one."""

from typing import Any, Callable, Union

import tensorflow as tf

from rlrun.policies.random_tf_policy import RandomTFPolicy
from rlrun.policies.tf_policy import TFPolicy, outer_batch_size
from rlrun.trajectories import PolicyStep

Epsilon = Union[float, Callable[[], Any]]


def epsilon_value(epsilon: Epsilon) -> Any:
  """Evaluates an epsilon that may be a schedule (a callable of no arguments)."""
  return epsilon() if callable(epsilon) else epsilon


class EpsilonGreedyPolicy(TFPolicy):
  """Explores uniformly with probability `epsilon`, otherwise follows `policy`.

  Args:
    policy: the (greedy) policy to follow.
    epsilon: a float, or a callable returning the current value (e.g. a schedule
      reading the train step), evaluated at every action.
    name: the module's name.
  """

  def __init__(self, policy: TFPolicy, epsilon: Epsilon, name: str = "EpsilonGreedyPolicy"):
    super().__init__(policy.time_step_spec, policy.action_spec, policy.policy_state_spec,
                     policy.info_spec, clip=False, name=name)
    self._greedy_policy = policy
    self._random_policy = RandomTFPolicy(policy.time_step_spec, policy.action_spec,
                                         info_spec=policy.info_spec)
    self._epsilon = epsilon

  @property
  def wrapped_policy(self) -> TFPolicy:
    return self._greedy_policy

  @property
  def epsilon(self) -> Epsilon:
    return self._epsilon

  def _action(self, time_step, policy_state, seed) -> PolicyStep:
    greedy = self._greedy_policy.action(time_step, policy_state)
    random = self._random_policy.action(time_step, policy_state)
    batch = outer_batch_size(time_step, self.time_step_spec)
    explore = tf.random.uniform([batch]) < tf.cast(epsilon_value(self._epsilon), tf.float32)
    def choose(r, g):
      mask = tf.reshape(explore, tf.concat([[batch], tf.ones([tf.rank(g) - 1], tf.int32)], 0))
      return tf.where(mask, r, g)
    action = tf.nest.map_structure(choose, random.action, greedy.action)
    return PolicyStep(action, greedy.state, greedy.info)

  def as_numpy_policy(self, greedy: bool = False) -> Any:
    from rlrun.policies.numpy_q_policy import NumpyQPolicy
    if greedy:
      return self._greedy_policy.as_numpy_policy(greedy=True)
    inner = self._greedy_policy
    while hasattr(inner, "wrapped_policy"):
      inner = inner.wrapped_policy
    if not hasattr(inner, "q_network"):
      return None
    return NumpyQPolicy.of(inner, epsilon=self._epsilon)
