"""suite_gym: load gym environments as PyEnvironments by id."""

import difflib
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence

import gin

from rlrun.environments import env_imports, gym_wrapper, py_environment, wrappers

gym = gym_wrapper.import_gym()

# Suggested when an unknown id has no close match.
_COMMON_IDS = ("CartPole-v0", "CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1")


def _known_ids() -> List[str]:
  return sorted(spec.id for spec in gym.envs.registry.all())


def _unknown_id_error(name: str, reason: Exception) -> ValueError:
  known = _known_ids()
  by_lower = {i.lower(): i for i in known}
  close = [by_lower[m] for m in difflib.get_close_matches(name.lower(), list(by_lower), 5, 0.6)]
  suggestions = close or [i for i in _COMMON_IDS if i in known] or known[:5]
  detail = " ".join(str(reason).split())
  return ValueError(f"unknown gym environment id {name!r}; known ids include: "
                    f"{', '.join(suggestions)}, ... (check the name and version; all ids: "
                    f"gym.envs.registry.all(); gym said: {detail})")


def _strip_time_limit(gym_env: Any) -> Any:
  """Removes the gym.wrappers.TimeLimit that gym.make puts outermost."""
  while isinstance(gym_env, gym.wrappers.TimeLimit):
    gym_env = gym_env.env
  return gym_env


def check_load_args(environment_name: Any, max_episode_steps: Optional[int],
                    suite: str = "gym", example: str = "CartPole-v0") -> None:
  """A suite's `load` arguments: an id string and a limit that is None or >= 0.

  Raises:
    TypeError: when environment_name is not a string.
    ValueError: for a negative max_episode_steps.
  """
  if not isinstance(environment_name, str):
    raise TypeError(f"environment_name must be a {suite} id string like {example!r}, got "
                    f"{type(environment_name).__name__}: {environment_name!r}")
  if max_episode_steps is not None and max_episode_steps < 0:
    raise ValueError(f"max_episode_steps must be >= 0 (0 = no limit, None = the registered "
                     f"limit), got {max_episode_steps!r}")


def episode_limit(environment_name: Any, max_episode_steps: Optional[int],
                  unknown_id_error: Callable[[str, Exception], ValueError]) -> Optional[int]:
  """Checks a suite's load arguments; returns the episode limit to apply.

  None means the limit registered with the id; 0 means no limit.

  Raises:
    TypeError: when environment_name is not a string.
    ValueError: for a negative max_episode_steps, or (from unknown_id_error) an
      id gym does not know.
  """
  check_load_args(environment_name, max_episode_steps)
  try:
    gym_spec = gym.spec(environment_name)
  except gym.error.Error as e:
    raise unknown_id_error(environment_name, e) from None
  return gym_spec.max_episode_steps if max_episode_steps is None else max_episode_steps


def wrap_env(gym_env: Any, discount: float = 1.0, max_episode_steps: Optional[int] = None,
             gym_env_wrappers: Sequence[Callable[[Any], Any]] = (),
             env_wrappers: Sequence[Callable[[py_environment.PyEnvironment],
                                             py_environment.PyEnvironment]] = (),
             spec_dtype_map: Optional[Dict[type, Any]] = None,
             render_kwargs: Optional[Dict[str, Any]] = None,
             seed: Optional[int] = None,
             wrapper: Callable[..., py_environment.PyEnvironment] = gym_wrapper.GymWrapper
             ) -> py_environment.PyEnvironment:
  """Wraps an already made gym env as a PyEnvironment, the way `load` does.

  Shared by the suites (suite_pybullet) that make their gym envs themselves.

  Args:
    gym_env: the gym env, e.g. from gym.make; its outer gym TimeLimits are removed.
    discount: the discount of non-terminal steps.
    max_episode_steps: the rlrun TimeLimit duration; None or 0 means no limit.
    gym_env_wrappers: callables applied in order to the gym env (gym.Wrappers).
    env_wrappers: callables applied in order to the PyEnvironment, after TimeLimit.
    spec_dtype_map: optional {gym space class: numpy dtype}; see GymWrapper.
    render_kwargs: extra keyword arguments for gym's render.
    seed: when given, seeds the env (its first reset and its spaces) deterministically.
    wrapper: the PyEnvironment class around the env (GymnasiumWrapper for Gymnasium's).

  Returns:
    The PyEnvironment.
  """
  gym_env = _strip_time_limit(gym_env)
  for wrap in gym_env_wrappers:
    gym_env = wrap(gym_env)
  env: py_environment.PyEnvironment = wrapper(
      gym_env, discount=discount, spec_dtype_map=spec_dtype_map, render_kwargs=render_kwargs)
  if max_episode_steps:
    env = wrappers.TimeLimit(env, max_episode_steps)
  for wrap in env_wrappers:
    env = wrap(env)
  if seed is not None:
    env.seed(seed)
  return env


@gin.configurable(module="suite_gym")
def load(environment_name: str, discount: float = 1.0, max_episode_steps: Optional[int] = None,
         gym_env_wrappers: Sequence[Callable[[Any], Any]] = (),
         env_wrappers: Sequence[Callable[[py_environment.PyEnvironment],
                                         py_environment.PyEnvironment]] = (),
         spec_dtype_map: Optional[Dict[type, Any]] = None,
         render_kwargs: Optional[Dict[str, Any]] = None,
         seed: Optional[int] = None) -> py_environment.PyEnvironment:
  """Loads a gym environment by id as a PyEnvironment.

  gym's own TimeLimit is removed; the episode limit is applied by rlrun's
  TimeLimit instead, so a time-out is a truncation (discount kept), not a
  termination.

  Args:
    environment_name: a registered gym id, e.g. 'CartPole-v0', or 'module:EnvId' to import
      the module that registers it first.
    discount: the discount of non-terminal steps.
    max_episode_steps: the episode step limit; None uses the gym spec's limit, 0
      means no limit.
    gym_env_wrappers: callables applied in order to the gym env (gym.Wrappers).
    env_wrappers: callables applied in order to the PyEnvironment, after TimeLimit.
    spec_dtype_map: optional {gym space class: numpy dtype}; see GymWrapper.
    render_kwargs: extra keyword arguments for gym's render.
    seed: when given, seeds the env (its first reset and its spaces) deterministically.

  Returns:
    The PyEnvironment.

  Raises:
    ValueError: for an unknown id or a negative max_episode_steps. (gin appends a
      second line "In call to configurable 'load'" to errors raised inside `load`.)
  """
  with warnings.catch_warnings():
    # gym warns about old versions ("out of date") and deprecated APIs on make.
    warnings.simplefilter("ignore")
    if isinstance(environment_name, str):
      environment_name = env_imports.split_id(environment_name)[1]
    max_episode_steps = episode_limit(environment_name, max_episode_steps, _unknown_id_error)
    env = wrap_env(gym.make(environment_name), discount=discount,
                   max_episode_steps=max_episode_steps, gym_env_wrappers=gym_env_wrappers,
                   env_wrappers=env_wrappers, spec_dtype_map=spec_dtype_map,
                   render_kwargs=render_kwargs, seed=seed)
  return env
