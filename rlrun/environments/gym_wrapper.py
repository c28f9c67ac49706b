"""GymWrapper: a PyEnvironment over a gym 0.23 environment.

Specs are derived from the gym spaces; observations are cast to the spec dtypes
and actions are converted back to what the gym env expects.
"""

import contextlib
import io
import os
import reprlib
from typing import Any, Dict, Optional, Tuple

import numpy as np

from rlrun.environments import py_environment
from rlrun.specs import array_spec
from rlrun.trajectories import time_step as ts


def import_gym():
  """Imports gym without its version notice (printed to stderr on first import)."""
  with contextlib.redirect_stderr(io.StringIO()):
    import gym  # pylint: disable=g-import-not-at-top
    import gym.spaces  # pylint: disable=g-import-not-at-top,unused-import
  return gym


gym = import_gym()

_DEFAULT_DTYPES = {
    gym.spaces.Discrete: np.int64,
    gym.spaces.MultiDiscrete: np.int64,
    gym.spaces.MultiBinary: np.int8,
}


def _bound(values: np.ndarray, dtype: np.dtype, simplify: bool) -> np.ndarray:
  """`values` cast to `dtype`; a single scalar when all entries are equal and `simplify`."""
  values = np.asarray(values)
  if simplify and values.size and np.all(values == values.flat[0]):
    values = values.flat[0]
  with np.errstate(over="ignore"):  # float64 +-inf/huge bounds cast to float32
    return np.asarray(values).astype(dtype)


def spec_from_gym_space(space: Any, spec_dtype_map: Optional[Dict[type, Any]] = None,
                        simplify_box_bounds: bool = True, name: Optional[str] = None,
                        spaces: Any = None) -> Any:
  """Converts a gym (or Gymnasium) space into a nest of BoundedArraySpecs.

  Args:
    space: a gym.spaces.{Discrete, Box, MultiDiscrete, MultiBinary, Tuple, Dict}.
    spec_dtype_map: optional {gym space class: numpy dtype} overriding the defaults
      (Discrete/MultiDiscrete int64, MultiBinary int8, float64 Box float32, other
      Boxes keep their dtype).
    simplify_box_bounds: use scalar bounds when all of a Box's bounds are equal.
    name: the name of the resulting spec (nested specs get derived names).
    spaces: the module of the space classes: gym.spaces (default) or gymnasium.spaces.

  Returns:
    A BoundedArraySpec, or a tuple/dict of them for Tuple/Dict spaces.
  """
  dtype_map = dict(spec_dtype_map or {})
  spaces = spaces or gym.spaces

  def dtype_for(default):
    for space_type, dtype in dtype_map.items():
      if isinstance(space, space_type):
        return np.dtype(dtype)
    return np.dtype(default)

  if isinstance(space, spaces.Discrete):
    start = int(getattr(space, "start", 0))
    return array_spec.BoundedArraySpec((), dtype_for(np.int64), start,
                                       start + int(space.n) - 1, name=name)
  if isinstance(space, spaces.MultiDiscrete):
    nvec = np.asarray(space.nvec)
    dtype = dtype_for(np.int64)
    return array_spec.BoundedArraySpec(nvec.shape, dtype, 0,
                                       _bound(nvec - 1, dtype, simplify_box_bounds), name=name)
  if isinstance(space, spaces.MultiBinary):
    return array_spec.BoundedArraySpec(space.shape, dtype_for(np.int8), 0, 1, name=name)
  if isinstance(space, spaces.Box):
    default = np.float32 if np.dtype(space.dtype) == np.float64 else space.dtype
    dtype = dtype_for(default)
    return array_spec.BoundedArraySpec(space.shape, dtype,
                                       _bound(space.low, dtype, simplify_box_bounds),
                                       _bound(space.high, dtype, simplify_box_bounds), name=name)
  if isinstance(space, spaces.Tuple):
    return tuple(spec_from_gym_space(s, spec_dtype_map, simplify_box_bounds,
                                     f"{name}_{i}" if name else str(i), spaces)
                 for i, s in enumerate(space.spaces))
  if isinstance(space, spaces.Dict):
    return {key: spec_from_gym_space(s, spec_dtype_map, simplify_box_bounds, key, spaces)
            for key, s in space.spaces.items()}
  raise ValueError(f"unsupported gym space {space!r} ({type(space).__name__}) for spec {name!r}; "
                   "supported: Discrete, Box, MultiDiscrete, MultiBinary, Tuple, Dict")


def to_spec_dtypes(value: Any, spec: Any) -> Any:
  """Casts a gym observation (nested like `spec`) to the spec dtypes.

  Floats may lose precision (float64 observations of a float32 space); every other cast
  must keep the values.

  Raises:
    ValueError: naming the field, when a part is missing, has the wrong shape, or holds
      values its space's dtype cannot hold (strings, fractions or out-of-range numbers
      for an integer space).
  """
  if isinstance(spec, dict):
    if not isinstance(value, dict) or set(value) != set(spec):
      got = (f"the keys {sorted(map(str, value))}" if isinstance(value, dict)
             else f"a {type(value).__name__}")
      raise ValueError(f"the environment returned {got} for the observation's Dict space, "
                       f"which declares the keys {sorted(map(str, spec))}; fix the "
                       "environment's step/reset or its observation_space")
    return {key: to_spec_dtypes(value[key], s) for key, s in spec.items()}
  if isinstance(spec, tuple):
    parts = (len(value) if isinstance(value, (tuple, list)) or (
        isinstance(value, np.ndarray) and value.ndim) else None)
    if parts != len(spec):
      got = (f"a {type(value).__name__}" if parts is None
             else f"{parts} part{'' if parts == 1 else 's'}")
      raise ValueError(f"the environment returned {got} for the observation's Tuple space "
                       f"of {len(spec)} parts; fix the environment's step/reset or its "
                       "observation_space")
    return tuple(to_spec_dtypes(v, s) for v, s in zip(value, spec))
  field = spec.name or "an observation"
  array, bad = _cast(value, spec.dtype)
  if array is None:
    hint = (" (a pair (observation, info): gym 0.26's reset API; this env is wrapped as gym "
            "0.23's, or load it with suite_gymnasium)" if isinstance(value, tuple)
            and len(value) == 2 and isinstance(value[1], dict) else "")
    raise ValueError(f"the environment returned {field} holding {bad}, which its space's "
                     f"dtype {spec.dtype} cannot hold{hint}; fix the environment's step/reset "
                     "or its observation_space")
  if array.shape != spec.shape:
    raise ValueError(f"the environment returned {field} of shape "
                     f"{array.shape}, but its observation space declares {spec.shape}; fix the "
                     "environment's step/reset or its observation_space")
  return array


def _cast(value: Any, dtype: np.dtype) -> Tuple[Optional[np.ndarray], str]:
  """(`value` as an array of `dtype`, ''), or (None, a short repr of a value the cast would
  not keep: a fraction or an out-of-range number for an integer dtype, a string...)."""
  try:
    raw = value if isinstance(value, np.ndarray) else np.asarray(value)
  except ValueError:  # ragged nests
    return None, reprlib.repr(value)
  if raw.dtype == dtype:
    return raw, ""
  kind = raw.dtype.kind
  if kind == "O":  # Python objects: numbers pass as numpy would cast them
    try:
      raw = raw.astype(np.float64 if dtype.kind in "iuf" else dtype)
    except (TypeError, ValueError):
      return None, reprlib.repr(_first(raw, value))
    kind = raw.dtype.kind
  if kind not in "biuf":  # strings, bytes, complex numbers
    return None, reprlib.repr(_first(raw, value))
  if dtype.kind == "f":
    return raw.astype(dtype), ""  # float64 -> float32 rounds, as every gym Box does
  if dtype.kind in "iu" and raw.size:
    limits = np.iinfo(dtype)
    low, high = raw.min(), raw.max()
    if kind == "f" and not (np.isfinite(low) and np.isfinite(high)):
      return None, repr(float(low if not np.isfinite(low) else high))
    for extreme in (low, high):
      if not limits.min <= (int(extreme) if kind != "f" else float(extreme)) <= limits.max:
        return None, repr(extreme.item())
  with np.errstate(invalid="ignore", over="ignore"):
    array = raw.astype(dtype)
    kept = array.astype(raw.dtype) == raw
  if kept.all():
    return array, ""
  return None, repr(raw[~kept].flat[0].item())


def _first(raw: np.ndarray, value: Any) -> Any:
  first = raw.flat[0] if raw.size else value
  return first.item() if isinstance(first, np.generic) else first


def to_gym_action(action: Any, space: Any, spaces: Any = None) -> Any:
  """Converts a numpy action (nested like `space`) into what the gym env expects."""
  spaces = spaces or gym.spaces
  if isinstance(space, spaces.Discrete):
    array = np.asarray(action)
    if array.size != 1:
      raise ValueError(f"a Discrete action must be a scalar, got shape {array.shape}: {action!r}")
    return int(array.reshape(()))
  if isinstance(space, spaces.Tuple):
    return tuple(to_gym_action(a, s, spaces) for a, s in zip(action, space.spaces))
  if isinstance(space, spaces.Dict):
    return {key: to_gym_action(action[key], s, spaces) for key, s in space.spaces.items()}
  return np.asarray(action, dtype=space.dtype)


def headless_sdl() -> None:
  """Without a display, pygame (classic control's renderer) uses SDL's dummy driver."""
  if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


class GymWrapper(py_environment.PyEnvironment):
  """Wraps a gym 0.23 env as a PyEnvironment.

  A gym `done` becomes a termination (discount 0) unless the info dict has
  'TimeLimit.truncated' set, which becomes a truncation (discount kept).

  Args:
    gym_env: the gym.Env to wrap.
    discount: the discount of non-terminal steps, in [0, 1].
    spec_dtype_map: optional {gym space class: numpy dtype}; see `spec_from_gym_space`.
    render_kwargs: extra keyword arguments for every `gym_env.render` call.
    simplify_box_bounds: scalar Box bounds when all entries are equal.
  """

  spaces = gym.spaces  # the module of the wrapped env's space classes

  def __init__(self, gym_env: Any, discount: float = 1.0,
               spec_dtype_map: Optional[Dict[type, Any]] = None,
               render_kwargs: Optional[Dict[str, Any]] = None, simplify_box_bounds: bool = True):
    super().__init__()
    if not 0.0 <= float(discount) <= 1.0:
      raise ValueError(f"discount must be in [0, 1], got {discount!r}")
    if spec_dtype_map is not None and not isinstance(spec_dtype_map, dict):
      raise TypeError(f"spec_dtype_map must be a dict {{gym space class: dtype}}, "
                      f"got {type(spec_dtype_map).__name__}: {spec_dtype_map!r}")
    self._gym_env = gym_env
    self._discount = np.float32(discount)
    self._render_kwargs = dict(render_kwargs or {})
    self._observation_spec = spec_from_gym_space(
        gym_env.observation_space, spec_dtype_map, simplify_box_bounds, "observation",
        self.spaces)
    self._action_spec = spec_from_gym_space(
        gym_env.action_space, spec_dtype_map, simplify_box_bounds, "action", self.spaces)
    self._pending_seed: Optional[int] = None
    self._info: Dict[str, Any] = {}

  @property
  def gym(self) -> Any:
    """The wrapped gym env."""
    return self._gym_env

  def __getattr__(self, name: str) -> Any:
    gym_env = self.__dict__.get("_gym_env")
    if name.startswith("__") or gym_env is None:
      raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
    return getattr(gym_env, name)

  def observation_spec(self) -> Any:
    return self._observation_spec

  def action_spec(self) -> Any:
    return self._action_spec

  def get_info(self) -> Dict[str, Any]:
    """The info dict of the last gym step ({} after a reset)."""
    return self._info

  def seed(self, seed: Optional[int]) -> None:
    """Seeds the action/observation spaces now and the env at its next reset."""
    self._pending_seed = None if seed is None else int(seed)
    self._gym_env.action_space.seed(seed)
    self._gym_env.observation_space.seed(seed)

  def _gym_reset(self) -> Any:
    seed, self._pending_seed = self._pending_seed, None
    if seed is None:
      return self._gym_env.reset()
    try:
      return self._gym_env.reset(seed=seed)
    except TypeError:  # an env with the pre-0.22 reset() signature
      self._gym_env.seed(seed)
      return self._gym_env.reset()

  def _reset(self) -> ts.TimeStep:
    observation = self._gym_reset()
    self._info = {}
    return ts.restart(to_spec_dtypes(observation, self._observation_spec))

  def _step(self, action: Any) -> ts.TimeStep:
    gym_action = to_gym_action(action, self._gym_env.action_space, self.spaces)
    observation, reward, done, info = self._gym_env.step(gym_action)
    self._info = info
    observation = to_spec_dtypes(observation, self._observation_spec)
    reward = np.asarray(reward, dtype=np.float32)
    if not done:
      return ts.transition(observation, reward, self._discount)
    if info.get("TimeLimit.truncated", False):
      return ts.truncation(observation, reward, self._discount)
    return ts.termination(observation, reward)

  def render(self, mode: str = "rgb_array") -> Optional[np.ndarray]:
    """Renders with gym; without a display, SDL's dummy video driver is used."""
    if mode != "human":
      headless_sdl()
    return self._gym_env.render(mode, **self._render_kwargs)

  def close(self) -> None:
    self._gym_env.close()
