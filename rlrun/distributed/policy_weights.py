"""The policy weights every role exchanges through the variable table, in one fixed order."""

from typing import Callable, List, Optional

import numpy as np
import tensorflow as tf

from rlrun.distributed import connection
from rlrun.distributed.variable_container import VariableContainer, VariablesNotReady


def policy_variables(agent) -> List[tf.Variable]:
  """The variables the collect and eval policies read, in the same order in every process."""
  return list(agent.collect_policy.variables)


class PolicyWeights:
  """Loads the newest published weights (and their train step) into an agent's variables.

  Args:
    container: a VariableContainer on the server's variable table.
    agent: the agent whose policy variables receive the weights.
    train_step: the variable that receives the weights' train step.
    grace_s: how long a silent server is retried before connection.ServerLost.
  """

  def __init__(self, container: VariableContainer, agent, train_step: tf.Variable,
               grace_s: float):
    self.container = container
    self.variables = policy_variables(agent)
    self.train_step = train_step
    self.grace_s = grace_s

  def _pull_or_none(self):
    try:
      return self.container.pull()
    except VariablesNotReady:
      return None

  def pull(self, should_stop: Optional[Callable[[], bool]] = None) -> Optional[int]:
    """Assigns the newest weights; returns their step (None: the learner has published none).

    Args:
      should_stop: asked while a silent server is retried; True gives up at once (a stop
        request must not wait out the grace period).

    Raises:
      connection.ServerLost: when the server stays silent for `grace_s`.
      connection.Cancelled: when `should_stop` returned True.
    """
    pulled = connection.retry(self._pull_or_none, self.grace_s, "pulling policy weights",
                              self.container.address, should_stop=should_stop)
    if pulled is None:
      return None
    weights, step = pulled
    for variable, value in zip(self.variables, weights):
      variable.assign(value)
    self.train_step.assign(step)
    return step

  def push(self, step: int) -> None:
    """Publishes the agent's current weights as those of `step` (the learner's side)."""
    self.container.push([np.asarray(v.numpy()) for v in self.variables], step)
