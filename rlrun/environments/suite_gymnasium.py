"""suite_gymnasium: load Gymnasium 1.x environments as PyEnvironments by id.

Gymnasium's own TimeLimit is left out for rlrun's (a truncation either way), so every suite
applies its limit the same way: `max_episode_steps`, else the registered one.
"""

import difflib
import warnings
from typing import Any, Callable, Dict, Optional, Sequence

import gin

from rlrun.environments import env_imports, py_environment, suite_gym
from rlrun.environments.gymnasium_wrapper import GymnasiumWrapper, import_gymnasium


def _spec(gymnasium, env_id: str):
  try:
    return gymnasium.spec(env_id)
  except gymnasium.error.Error as e:
    known = sorted(gymnasium.registry)
    by_lower = {i.lower(): i for i in known}
    close = [by_lower[m] for m in difflib.get_close_matches(env_id.lower(), list(by_lower), 5,
                                                            0.6)]
    detail = " ".join(str(e).split())
    raise ValueError(f"unknown Gymnasium environment id {env_id!r}; known ids include: "
                     f"{', '.join(close or known[:5])}, ... (all ids: gymnasium.registry; "
                     f"Gymnasium said: {detail})") from None


def _make(gymnasium, spec, render_mode: Optional[str], kwargs: Dict[str, Any]) -> Any:
  """gymnasium.make without its TimeLimit (rlrun applies the limit), with `render_mode` only
  for an env that can render that way."""
  kwargs = dict(kwargs, max_episode_steps=-1)  # -1: gymnasium adds no TimeLimit
  creator = spec.entry_point
  if isinstance(creator, str):
    creator = gymnasium.envs.registration.load_env_creator(creator)
  metadata = getattr(creator, "metadata", None)
  modes = metadata.get("render_modes") if isinstance(metadata, dict) else None
  if render_mode is None or (modes is not None and render_mode not in modes):
    return gymnasium.make(spec.id, **kwargs)
  try:
    return gymnasium.make(spec.id, render_mode=render_mode, **kwargs)
  except TypeError as e:
    if "unexpected keyword argument 'render_mode'" not in str(e):
      raise
    return gymnasium.make(spec.id, **kwargs)  # an env without a render_mode argument


@gin.configurable(module="suite_gymnasium")
def load(environment_name: str, discount: float = 1.0, max_episode_steps: Optional[int] = None,
         gym_kwargs: Optional[Dict[str, Any]] = None,
         gym_env_wrappers: Sequence[Callable[[Any], Any]] = (),
         env_wrappers: Sequence[Callable[[py_environment.PyEnvironment],
                                         py_environment.PyEnvironment]] = (),
         spec_dtype_map: Optional[Dict[type, Any]] = None, render_mode: str = "rgb_array",
         seed: Optional[int] = None) -> py_environment.PyEnvironment:
  """Loads a Gymnasium environment by id as a PyEnvironment.

  Args:
    environment_name: a registered Gymnasium id, e.g. 'CartPole-v1', or 'module:EnvId' to
      import the module that registers it first.
    discount: the discount of non-terminal steps.
    max_episode_steps: the episode step limit; None uses the registered limit, 0 means no
      limit of the suite's own (rlrun's default limit then applies in training).
    gym_kwargs: keyword arguments of gymnasium.make (the env's constructor arguments).
    gym_env_wrappers: callables applied in order to the Gymnasium env.
    env_wrappers: callables applied in order to the PyEnvironment, after TimeLimit.
    spec_dtype_map: optional {gymnasium space class: numpy dtype}; see GymWrapper.
    render_mode: Gymnasium's render mode; 'rgb_array' lets record-video film the env.
    seed: when given, seeds the env (its first reset and its spaces) deterministically.

  Raises:
    ValueError: for an unknown id, a module that does not import, Gymnasium missing, or a
      negative max_episode_steps.
  """
  gymnasium = import_gymnasium()
  suite_gym.check_load_args(environment_name, max_episode_steps, "Gymnasium", "CartPole-v1")
  _, env_id = env_imports.split_id(environment_name)
  spec = _spec(gymnasium, env_id)
  if max_episode_steps is None:
    max_episode_steps = spec.max_episode_steps
  with warnings.catch_warnings():
    # Gymnasium warns on make about older versions of an id ("out of date"), as gym does.
    warnings.simplefilter("ignore")
    env = _make(gymnasium, spec, render_mode, dict(gym_kwargs or {}))
  return suite_gym.wrap_env(env, discount=discount, max_episode_steps=max_episode_steps,
                            gym_env_wrappers=gym_env_wrappers, env_wrappers=env_wrappers,
                            spec_dtype_map=spec_dtype_map, seed=seed, wrapper=GymnasiumWrapper)
