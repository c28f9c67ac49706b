"""PyEnvironment wrappers: delegation base, TimeLimit and ActionClipWrapper."""

from typing import Any, Optional

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
    if np.all(time_step.is_first()):  # the inner env reset itself
      self._num_steps = 0
      return time_step
    self._num_steps += 1
    if self._num_steps >= self._duration and not np.all(time_step.is_last()):
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
