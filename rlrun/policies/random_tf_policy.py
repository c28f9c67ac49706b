"""RandomTFPolicy: uniformly random actions within the action spec."""

from typing import Any

import tensorflow as tf

from rlrun.policies.tf_policy import TFPolicy, outer_batch_size
from rlrun.specs import tensor_spec
from rlrun.trajectories import PolicyStep


class RandomTFPolicy(TFPolicy):
  """Samples every action uniformly from its bounded spec (one per batch entry)."""

  def __init__(self, time_step_spec, action_spec, policy_state_spec=(), info_spec=(),
               name: str = "RandomTFPolicy"):
    super().__init__(time_step_spec, action_spec, policy_state_spec, info_spec, clip=False,
                     name=name)

  def _action(self, time_step, policy_state, seed) -> PolicyStep:
    batch = outer_batch_size(time_step, self.time_step_spec)
    action = tensor_spec.sample_spec_nest(self.action_spec, outer_dims=[batch], seed=seed)
    info = tensor_spec.zero_spec_nest(self.info_spec, outer_dims=[batch]) if tf.nest.flatten(
        self.info_spec) else ()
    return PolicyStep(action, policy_state, info)

  def as_numpy_policy(self, greedy: bool = False) -> Any:
    del greedy  # a uniform distribution has no single mode
    from rlrun.policies.random_py_policy import RandomPyPolicy
    return RandomPyPolicy(tensor_spec.to_nest_array_spec(self.time_step_spec),
                          tensor_spec.to_nest_array_spec(self.action_spec))
