"""Builders of the off-policy agents: DQN, C51, SAC and TD3 (sampled windows of their sequence length)."""

import inspect
from typing import Any, Callable

import gin
import tensorflow as tf

from rlrun.agents.c51_agent import create_c51_agent
from rlrun.agents.dqn_agent import create_dqn_agent
from rlrun.agents.sac_agent import create_sac_agent
from rlrun.agents.td3_agent import create_td3_agent
from rlrun.builders.builder import Builder
from rlrun.specs import tensor_spec


def takes(function, parameter: str) -> bool:
  try:
    return parameter in inspect.signature(function).parameters
  except (TypeError, ValueError):
    return False


def _is_discrete(action_spec) -> bool:
  return all(s.dtype.is_integer for s in tf.nest.flatten(action_spec))


@gin.configurable(module="builders")
class OffPolicyBuilder(Builder):
  """Any agent trained on uniformly (or priority-) sampled windows of its sequence length.

  Args:
    agent_fn: (time_step_spec, action_spec, train_step_counter) -> TFAgent.
    stride: environment steps between the starts of consecutive replay items.
    frame_stack: frames stacked on the observations' first axis, each stored once in
      replay (see Builder); 1: observations stored as they are.
  """

  # Whether the agent needs discrete (True) or continuous (False) actions; None: either.
  discrete_actions = None

  def __init__(self, agent_fn: Callable[..., Any] = gin.REQUIRED, stride: int = 1,
               frame_stack: int = 1):
    super().__init__(stride, frame_stack)
    self.agent_fn = agent_fn

  def make_agent(self, time_step_spec, action_spec, train_step: tf.Variable, seed: int = 0):
    self._check_actions(action_spec)
    kwargs = {"seed": seed} if takes(self.agent_fn, "seed") else {}
    agent = self.agent_fn(time_step_spec, action_spec, train_step_counter=train_step, **kwargs)
    agent.initialize()
    return agent

  def _check_actions(self, action_spec) -> None:
    if self.discrete_actions is None:
      return
    spec = tensor_spec.from_spec(action_spec)
    if _is_discrete(spec) != self.discrete_actions:
      got = "discrete" if _is_discrete(spec) else "continuous"
      need = "discrete" if self.discrete_actions else "continuous (Box)"
      shapes = ", ".join(f"{s.dtype.name} {tuple(s.shape)}" for s in tf.nest.flatten(spec))
      raise ValueError(f"{self.name} needs {need} actions, but the environment's actions are "
                       f"{got} ({shapes}); choose an agent for {got} actions")


@gin.configurable(module="builders")
class DqnBuilder(OffPolicyBuilder):
  """DQN: agents.create_dqn_agent (its Q-network and agents.DqnAgent bindings)."""

  discrete_actions = True

  def __init__(self, agent_fn: Callable[..., Any] = create_dqn_agent, stride: int = 1,
               frame_stack: int = 1):
    super().__init__(agent_fn, stride, frame_stack)


@gin.configurable(module="builders")
class C51Builder(OffPolicyBuilder):
  """C51: agents.create_c51_agent (its networks.CategoricalQNetwork and agents.C51Agent bindings)."""

  discrete_actions = True

  def __init__(self, agent_fn: Callable[..., Any] = create_c51_agent, stride: int = 1,
               frame_stack: int = 1):
    super().__init__(agent_fn, stride, frame_stack)


@gin.configurable(module="builders")
class SacBuilder(OffPolicyBuilder):
  """SAC: agents.create_sac_agent (its actor and critic networks and agents.SacAgent bindings)."""

  discrete_actions = False

  def __init__(self, agent_fn: Callable[..., Any] = create_sac_agent, stride: int = 1,
               frame_stack: int = 1):
    super().__init__(agent_fn, stride, frame_stack)


@gin.configurable(module="builders")
class Td3Builder(OffPolicyBuilder):
  """TD3: agents.create_td3_agent (its actor and critic networks and agents.Td3Agent bindings)."""

  discrete_actions = False

  def __init__(self, agent_fn: Callable[..., Any] = create_td3_agent, stride: int = 1,
               frame_stack: int = 1):
    super().__init__(agent_fn, stride, frame_stack)

  def check(self, settings) -> None:
    super().check(settings)
    if settings.strategy != "default":
      raise ValueError("Td3Builder: the delayed actor update runs under "
                       "train.Experiment.strategy = 'default' only (one device)")
