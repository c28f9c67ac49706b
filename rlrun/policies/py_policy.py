"""PyPolicy: the numpy policy interface (used by PyDriver and actors)."""

import abc
from typing import Any

from rlrun.trajectories import policy_step, time_step as ts


class PyPolicy(abc.ABC):
  """Maps numpy time steps (and a policy state) to numpy actions.

  Args:
    time_step_spec: the TimeStep nest of ArraySpecs the policy accepts.
    action_spec: the nest of (Bounded)ArraySpecs of the actions it returns.
    policy_state_spec: the spec of the recurrent state; () when stateless.
    info_spec: the spec of PolicyStep.info; () when there is none.
  """

  def __init__(self, time_step_spec: ts.TimeStep, action_spec: Any,
               policy_state_spec: Any = (), info_spec: Any = ()):
    self._time_step_spec = time_step_spec
    self._action_spec = action_spec
    self._policy_state_spec = policy_state_spec
    self._info_spec = info_spec

  @property
  def time_step_spec(self) -> ts.TimeStep:
    return self._time_step_spec

  @property
  def action_spec(self) -> Any:
    return self._action_spec

  @property
  def policy_state_spec(self) -> Any:
    return self._policy_state_spec

  @property
  def info_spec(self) -> Any:
    return self._info_spec

  def get_initial_state(self, batch_size: Any = None) -> Any:
    """The state to start an episode with (() for a stateless policy)."""
    return self._get_initial_state(batch_size)

  def _get_initial_state(self, batch_size: Any) -> Any:
    from rlrun.specs import array_spec
    if self._policy_state_spec == ():
      return ()
    return array_spec.zero_spec_nest(self._policy_state_spec,
                                     () if batch_size is None else (batch_size,))

  def action(self, time_step: ts.TimeStep, policy_state: Any = ()) -> policy_step.PolicyStep:
    """Returns PolicyStep(action, next policy state, info) for `time_step`."""
    return self._action(time_step, policy_state)

  @abc.abstractmethod
  def _action(self, time_step: ts.TimeStep, policy_state: Any) -> policy_step.PolicyStep:
    """Computes the action."""
