"""PyEnvironment wrappers: delegation base, time limits, action and observation transforms."""

from typing import Any, List, Optional, Sequence

import numpy as np
import tree

from rlrun.environments import py_environment
from rlrun.specs import array_spec
from rlrun.trajectories import time_step as ts


class PyEnvironmentBaseWrapper(py_environment.PyEnvironment):
  """Delegates everything to the wrapped env; subclasses override what they change.

  The wrapper tracks its own current time step (a subclass may alter time steps).
  For an unbatched env it handles auto-reset itself: a step after the wrapper's
  LAST calls the inner env's `reset()`. A batched inner env resets its members.
  Unknown attributes fall through to the wrapped env.

  Args:
    env: the PyEnvironment to wrap.
  """

  def __init__(self, env: py_environment.PyEnvironment):
    if not isinstance(env, py_environment.PyEnvironment):
      raise TypeError(f"{type(self).__name__} wraps a PyEnvironment, got "
                      f"{type(env).__name__}: {env!r}; wrap gym envs in GymWrapper first")
    super().__init__(handle_auto_reset=not env.batched)
    self._env = env

  def __getattr__(self, name: str) -> Any:
    env = self.__dict__.get("_env")
    if name.startswith("__") or env is None:
      raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
    return getattr(env, name)

  def wrapped_env(self) -> py_environment.PyEnvironment:
    return self._env

  @property
  def batched(self) -> bool:
    return self._env.batched

  @property
  def batch_size(self) -> Optional[int]:
    return self._env.batch_size

  def observation_spec(self) -> Any:
    return self._env.observation_spec()

  def action_spec(self) -> Any:
    return self._env.action_spec()

  def reward_spec(self) -> array_spec.ArraySpec:
    return self._env.reward_spec()

  def discount_spec(self) -> array_spec.BoundedArraySpec:
    return self._env.discount_spec()

  def time_step_spec(self) -> ts.TimeStep:
    return self._env.time_step_spec()

  def _reset(self) -> ts.TimeStep:
    return self._env.reset()

  def _step(self, action: Any) -> ts.TimeStep:
    return self._env.step(action)

  def render(self, mode: str = "rgb_array") -> Optional[np.ndarray]:
    return self._env.render(mode)

  def seed(self, seed: Optional[int]) -> None:
    self._env.seed(seed)

  def get_info(self) -> Any:
    return self._env.get_info()

  def close(self) -> None:
    self._env.close()


class TimeLimit(PyEnvironmentBaseWrapper):
  """Ends episodes after `duration` steps with a truncation time step.

  The step that reaches the limit is returned as LAST with the inner step's
  discount (not zeroed: the episode was cut short, the future still counts). An
  inner termination before (or at) the limit is passed through unchanged. The
  step counter restarts on every reset, including auto-resets.

  Args:
    env: an unbatched PyEnvironment.
    duration: the maximum number of steps (actions) per episode, > 0.
  """

  def __init__(self, env: py_environment.PyEnvironment, duration: int):
    super().__init__(env)
    if env.batched:
      raise ValueError(f"TimeLimit needs an unbatched env, got a batch of {env.batch_size}; "
                       "wrap each member before batching")
    if isinstance(duration, bool) or not isinstance(duration, (int, np.integer)) or duration <= 0:
      raise ValueError(f"TimeLimit duration must be a positive int, got {duration!r}")
    self._duration = int(duration)
    self._num_steps = 0

  @property
  def duration(self) -> int:
    return self._duration

  @property
  def num_steps(self) -> int:
    """Steps taken in the current episode."""
    return self._num_steps

  def _reset(self) -> ts.TimeStep:
    self._num_steps = 0
    return self._env.reset()

  def _step(self, action: Any) -> ts.TimeStep:
    time_step = self._env.step(action)
    if ts.all_true(time_step.is_first()):  # the inner env reset itself
      self._num_steps = 0
      return time_step
    self._num_steps += 1
    if self._num_steps >= self._duration and not ts.all_true(time_step.is_last()):
      time_step = time_step._replace(
          step_type=np.full(np.shape(time_step.step_type), ts.StepType.LAST, np.int32))
    return time_step


class ActionClipWrapper(PyEnvironmentBaseWrapper):
  """Clips floating-point actions to the bounds of the action spec.

  Integer actions and actions with unbounded specs are passed through unchanged.

  Args:
    env: the PyEnvironment to wrap.
  """

  def _step(self, action: Any) -> ts.TimeStep:
    def clip(spec, value):
      if array_spec.is_bounded(spec) and array_spec.is_continuous(spec):
        return np.clip(np.asarray(value), spec.minimum, spec.maximum).astype(spec.dtype)
      return value
    try:
      clipped = tree.map_structure(clip, self._env.action_spec(), action, check_types=False)
    except (ValueError, TypeError) as e:
      raise ValueError(f"action {action!r} does not match the structure of the action spec "
                       f"{self._env.action_spec()!r}: {e}") from e
    return self._env.step(clipped)


def _leaf_bounds(spec: array_spec.ArraySpec) -> Any:
  """A leaf's bounds as flat float32 vectors; float32's range when it has none."""
  if array_spec.is_bounded(spec):
    low, high = spec.minimum, spec.maximum
  else:
    low, high = np.finfo(np.float32).min, np.finfo(np.float32).max
  with np.errstate(over="ignore"):  # float64 extremes saturate to float32 +-inf
    return tuple(np.broadcast_to(np.asarray(b, np.float64), spec.shape).astype(np.float32)
                 .reshape(-1) for b in (low, high))


class FlattenObservationsWrapper(PyEnvironmentBaseWrapper):
  """Concatenates the leaves of an observation nest into one float32 vector.

  Leaves are taken in `tree.flatten` order (dict keys sorted), each flattened and
  cast to float32; the spec's bounds are the leaves' bounds concatenated. Batched
  envs keep their leading batch dimension.

  Args:
    env: the PyEnvironment to wrap.
    observations_allowlist: keys of a dict observation to keep; None keeps all.
  """

  def __init__(self, env: py_environment.PyEnvironment,
               observations_allowlist: Optional[Sequence[str]] = None):
    super().__init__(env)
    spec = env.observation_spec()
    self._keys: Optional[List[str]] = None
    if observations_allowlist is not None:
      if not isinstance(spec, dict):
        raise ValueError(f"observations_allowlist needs a dict observation spec, got "
                         f"{type(spec).__name__}; pass observations_allowlist=None")
      if isinstance(observations_allowlist, str):
        raise TypeError(f"observations_allowlist must be a list of keys, got the string "
                        f"{observations_allowlist!r}; pass [{observations_allowlist!r}]")
      self._keys = list(observations_allowlist)
      missing = [k for k in self._keys if k not in spec]
      if missing or not self._keys:
        raise ValueError(f"observations_allowlist {self._keys!r} must name observation keys; "
                         f"unknown: {missing!r}, available: {sorted(spec)!r}")
      spec = {k: spec[k] for k in self._keys}
    self._leaf_specs = tree.flatten(spec)
    lows, highs = zip(*(_leaf_bounds(leaf) for leaf in self._leaf_specs))
    self._observation_spec = array_spec.BoundedArraySpec(
        (sum(low.size for low in lows),), np.float32, np.concatenate(lows),
        np.concatenate(highs), name="observation")

  def observation_spec(self) -> array_spec.BoundedArraySpec:
    return self._observation_spec

  def time_step_spec(self) -> ts.TimeStep:
    return ts.time_step_spec(self._observation_spec, self.reward_spec())

  def _flatten(self, time_step: ts.TimeStep) -> ts.TimeStep:
    observation = time_step.observation
    if self._keys is not None:
      observation = {k: observation[k] for k in self._keys}
    parts = []
    for value, spec in zip(tree.flatten(observation), self._leaf_specs):
      value = np.asarray(value)
      outer = value.shape[:value.ndim - len(spec.shape)]  # the batch dims, if any
      parts.append(value.reshape(outer + (-1,)).astype(np.float32))
    return time_step._replace(observation=np.concatenate(parts, axis=-1))

  def _reset(self) -> ts.TimeStep:
    return self._flatten(self._env.reset())

  def _step(self, action: Any) -> ts.TimeStep:
    return self._flatten(self._env.step(action))


class ObservationFilterWrapper(PyEnvironmentBaseWrapper):
  """Keeps `observation[..., idx]`: selected entries of the observation's last axis.

  Args:
    env: a PyEnvironment whose observation is a single array with at least one axis.
    idx: an index or a sequence of indices into the last axis (the result keeps it).
  """

  def __init__(self, env: py_environment.PyEnvironment, idx: Any):
    super().__init__(env)
    spec = env.observation_spec()
    if not isinstance(spec, array_spec.ArraySpec) or not spec.shape:
      raise ValueError(f"ObservationFilterWrapper needs a single-array observation spec "
                       f"with at least one axis, got {spec!r}")
    indices = np.asarray(idx).reshape(-1)
    size = spec.shape[-1]
    if (not indices.size or not np.issubdtype(indices.dtype, np.integer)
        or np.any(indices < -size) or np.any(indices >= size)):
      raise ValueError(f"idx {idx!r} must be one or more ints in [{-size}, {size}) for an "
                       f"observation whose last axis has size {size}")
    self._idx = indices
    shape = spec.shape[:-1] + (indices.size,)
    if array_spec.is_bounded(spec):
      self._observation_spec = spec.replace(
          shape=shape, minimum=np.broadcast_to(spec.minimum, spec.shape)[..., indices],
          maximum=np.broadcast_to(spec.maximum, spec.shape)[..., indices])
    else:
      self._observation_spec = spec.replace(shape=shape)

  def observation_spec(self) -> array_spec.ArraySpec:
    return self._observation_spec

  def time_step_spec(self) -> ts.TimeStep:
    return ts.time_step_spec(self._observation_spec, self.reward_spec())

  def _filter(self, time_step: ts.TimeStep) -> ts.TimeStep:
    return time_step._replace(observation=np.asarray(time_step.observation)[..., self._idx])

  def _reset(self) -> ts.TimeStep:
    return self._filter(self._env.reset())

  def _step(self, action: Any) -> ts.TimeStep:
    return self._filter(self._env.step(action))


class ActionRepeat(PyEnvironmentBaseWrapper):
  """Applies each action `times` times, returning the last step with the summed reward.

  The repeats stop early at a LAST step. The returned discount is the last inner
  step's (0 after a termination).

  Args:
    env: an unbatched PyEnvironment (batch members would end at different steps).
    times: how many inner steps one action lasts, >= 1.
  """

  def __init__(self, env: py_environment.PyEnvironment, times: int):
    super().__init__(env)
    if env.batched:
      raise ValueError(f"ActionRepeat needs an unbatched env, got a batch of {env.batch_size}; "
                       "wrap each member before batching")
    if isinstance(times, bool) or not isinstance(times, (int, np.integer)) or times < 1:
      raise ValueError(f"ActionRepeat times must be an int >= 1, got {times!r}")
    self._times = int(times)

  @property
  def times(self) -> int:
    return self._times

  def _step(self, action: Any) -> ts.TimeStep:
    total = None
    for _ in range(self._times):
      time_step = self._env.step(action)
      if ts.all_true(time_step.is_first()):  # the inner env reset itself: a new episode
        return time_step
      total = time_step.reward if total is None else tree.map_structure(
          lambda a, b: np.asarray(a + b, np.asarray(b).dtype), total, time_step.reward)
      if ts.all_true(time_step.is_last()):
        break
    return time_step._replace(reward=total)
