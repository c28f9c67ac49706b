"""ActorPolicy: actions (or action distributions) computed by an actor network."""

from typing import Any, Optional

import tensorflow as tf
import tensorflow_probability as tfp

from rlrun.policies.tf_policy import TFPolicy
from rlrun.trajectories import PolicyStep


def _as_distribution(output: Any) -> tfp.distributions.Distribution:
  """A network output as a distribution: tensors become a point mass on themselves."""
  if isinstance(output, tfp.distributions.Distribution):
    return output
  return tfp.distributions.Deterministic(loc=output)


class ActorPolicy(TFPolicy):
  """Acts with an actor network that maps observations to actions or distributions.

  The network is called as `actor_network(observation, step_type=..., network_state=...)`
  and returns `(outputs, next_network_state)`. Each output leaf is either an action
  tensor, which the policy wraps in a `tfp.distributions.Deterministic`, or a tfp
  Distribution, used as is. `action()` samples from these distributions (a
  Deterministic sample is the network's action) and, with `clip=True`, clips
  continuous actions to the action spec's bounds. A stateful network's state is the
  policy state.

  Args:
    time_step_spec: TimeStep spec (no batch dim).
    action_spec: nest of (Bounded)TensorSpecs of one action, matching the network's outputs.
    actor_network: an rlrun Network.
    policy_state_spec: spec of the policy state; () uses the network's `state_spec`.
    info_spec: spec of PolicyStep.info; () when none.
    clip: clip continuous actions to the action spec's bounds.
    name: the module's name.

  Raises:
    ValueError: when the network's outputs do not match `action_spec`.
  """

  def __init__(self, time_step_spec: Any, action_spec: Any, actor_network: Any,
               policy_state_spec: Any = (), info_spec: Any = (), clip: bool = True,
               name: Optional[str] = None):
    if not tf.nest.flatten(policy_state_spec):
      policy_state_spec = actor_network.state_spec
    super().__init__(time_step_spec, action_spec, policy_state_spec, info_spec, clip=clip,
                     name=name)
    self._actor_network = actor_network
    output_spec = actor_network.create_variables(self.time_step_spec.observation)
    self._check_output_spec(output_spec)

  def _check_output_spec(self, output_spec: Any) -> None:
    try:
      tf.nest.assert_same_structure(output_spec, self.action_spec)
    except (ValueError, TypeError) as e:
      raise ValueError(f"actor_network {self._actor_network.name} outputs {output_spec}, "
                       f"whose structure differs from action_spec {self.action_spec}; make "
                       "the network return one output per action leaf") from e
    for out, spec in zip(tf.nest.flatten(output_spec), tf.nest.flatten(self.action_spec)):
      if not out.shape.is_compatible_with(spec.shape):
        raise ValueError(f"actor_network {self._actor_network.name} outputs shape "
                         f"{out.shape} per observation but the action spec {spec} has shape "
                         f"{spec.shape}; reshape the network's output to the action shape")

  @property
  def actor_network(self) -> Any:
    return self._actor_network

  def as_numpy_policy(self, greedy: bool = False) -> Optional[Any]:
    from rlrun.policies.numpy_actor_policy import NumpyActorPolicy
    return NumpyActorPolicy.of(self, greedy=greedy)

  def _distribution(self, time_step, policy_state) -> PolicyStep:
    outputs, policy_state = self._actor_network(time_step.observation,
                                                step_type=time_step.step_type,
                                                network_state=policy_state, training=False)
    return PolicyStep(tf.nest.map_structure(_as_distribution, outputs), policy_state, ())
