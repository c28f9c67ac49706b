"""Environments given as plain objects: what a custom env_fn returns, made a PyEnvironment.

`train.Experiment.env_fn` may name rlrun's suites (which return PyEnvironments) or any
class or factory: a Gymnasium env it returns is wrapped as suite_gymnasium wraps one, a
gym 0.23 env as suite_gym does, with rlrun's TimeLimit at the limit of the env's own.
"""

import sys
from typing import Any

from rlrun.environments import py_environment


def _time_limit_of(env: Any, wrapper_class) -> Any:
  """(env without its outer TimeLimits, the limit of the first TimeLimit in its wrapper chain
  or None). A TimeLimit under other wrappers stays: it truncates at the same step as the
  limit rlrun puts outside."""
  limit, inner = None, env
  for _ in range(100):  # (a wrapper chain is short; a cycle must not hang)
    if inner is None or limit is not None:
      break
    if isinstance(inner, wrapper_class):
      limit = getattr(inner, "_max_episode_steps", None)
    inner = getattr(inner, "env", None)
  while isinstance(env, wrapper_class):
    env = env.env
  return env, limit


def to_py_environment(env: Any) -> py_environment.PyEnvironment:
  """`env` as a PyEnvironment.

  Raises:
    TypeError: when it is neither a PyEnvironment nor a gym/Gymnasium env.
  """
  if isinstance(env, py_environment.PyEnvironment):
    return env
  from rlrun.environments import wrappers
  gymnasium = sys.modules.get("gymnasium")
  if gymnasium is not None and isinstance(env, gymnasium.Env):
    from rlrun.environments.gymnasium_wrapper import GymnasiumWrapper
    env, limit = _time_limit_of(env, gymnasium.wrappers.TimeLimit)
    wrapped = GymnasiumWrapper(env)
  else:
    from rlrun.environments.gym_wrapper import GymWrapper, gym
    if not isinstance(env, gym.Env):
      raise TypeError(f"train.Experiment.env_fn returned a {type(env).__name__}, not an "
                      "environment: return a gymnasium.Env, a gym.Env or an rlrun "
                      "PyEnvironment (e.g. from suite_gym.load)")
    env, limit = _time_limit_of(env, gym.wrappers.TimeLimit)
    wrapped = GymWrapper(env)
  return wrappers.TimeLimit(wrapped, limit) if limit else wrapped
