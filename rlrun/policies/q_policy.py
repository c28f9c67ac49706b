"""QPolicy: a Categorical over the Q-values of a Q-network."""

from typing import Any


from rlrun.networks.q_network import num_actions_of
from rlrun.policies import distributions
from rlrun.policies.tf_policy import TFPolicy, action_offset
from rlrun.trajectories import PolicyStep


class QPolicy(TFPolicy):
  """Treats Q-values as logits; GreedyPolicy(QPolicy) takes the argmax.

  Args:
    time_step_spec: TimeStep spec.
    action_spec: a scalar bounded integer spec.
    q_network: a Network mapping observations to [B, num_actions] Q-values.
    name: the module's name.
  """

  def __init__(self, time_step_spec, action_spec, q_network, name: str = "QPolicy"):
    super().__init__(time_step_spec, action_spec, policy_state_spec=q_network.state_spec,
                     clip=False, name=name)
    self._q_network = q_network
    self._num_actions = num_actions_of(action_spec)
    output_spec = q_network.create_variables(self.time_step_spec.observation)
    if tuple(output_spec.shape) != (self._num_actions,):
      raise ValueError(f"q_network outputs shape {tuple(output_spec.shape)} per observation, "
                       f"but the action spec has {self._num_actions} actions; set the last "
                       f"layer's units to {self._num_actions}")

  @property
  def q_network(self):
    return self._q_network

  def _distribution(self, time_step, policy_state) -> PolicyStep:
    q_values, policy_state = self._q_network(time_step.observation,
                                             step_type=time_step.step_type,
                                             network_state=policy_state)
    dist = distributions.categorical(q_values, self.action_spec.dtype,
                                     int(action_offset(self.action_spec)))
    return PolicyStep(dist, policy_state, ())

  def as_numpy_policy(self, greedy: bool = False) -> Any:
    del greedy  # a QPolicy's distribution is a point mass on the argmax
    from rlrun.policies.numpy_q_policy import NumpyQPolicy
    return NumpyQPolicy.of(self, epsilon=0.0)
