"""TFPyEnvironment: exposes a PyEnvironment through TensorFlow specs and tensors (eager only)."""

from typing import Any, Optional

import numpy as np
import tensorflow as tf

from rlrun.environments import batched_py_environment, py_environment
from rlrun.specs import tensor_spec
from rlrun.trajectories import time_step as ts


def _to_tensors(nest: Any) -> Any:
  return tf.nest.map_structure(tf.convert_to_tensor, nest)


def _to_numpy(nest: Any) -> Any:
  def convert(value):
    if isinstance(value, tf.Tensor):
      return value.numpy()
    return np.asarray(value)
  return tf.nest.map_structure(convert, nest)


class TFPyEnvironment:
  """Wraps a PyEnvironment so that it takes and returns tf.Tensors.

  An unbatched env is wrapped into a BatchedPyEnvironment of one, so every output
  has a leading batch dimension (of 1) and actions must have it too. Specs are the
  unbatched TensorSpecs (bounds kept as BoundedTensorSpec).

  This adapter calls the Python env directly: it works in eager mode only, not
  inside a tf.function (use a Python driver loop around it).

  Args:
    py_env: the PyEnvironment to wrap.
  """

  def __init__(self, py_env: py_environment.PyEnvironment):
    if not isinstance(py_env, py_environment.PyEnvironment):
      raise TypeError(f"TFPyEnvironment wraps a PyEnvironment, got {type(py_env).__name__}: "
                      f"{py_env!r}; load gym envs with suite_gym.load")
    if not py_env.batched:
      py_env = batched_py_environment.BatchedPyEnvironment([py_env])
    self._env = py_env
    self._time_step_spec = tensor_spec.from_spec(py_env.time_step_spec())
    self._action_spec = tensor_spec.from_spec(py_env.action_spec())

  @property
  def pyenv(self) -> py_environment.PyEnvironment:
    """The underlying (batched) PyEnvironment."""
    return self._env

  @property
  def batched(self) -> bool:
    return True

  @property
  def batch_size(self) -> int:
    return self._env.batch_size

  def time_step_spec(self) -> ts.TimeStep:
    return self._time_step_spec

  def observation_spec(self) -> Any:
    return self._time_step_spec.observation

  def reward_spec(self) -> tf.TensorSpec:
    return self._time_step_spec.reward

  def discount_spec(self) -> Any:
    return self._time_step_spec.discount

  def action_spec(self) -> Any:
    return self._action_spec

  @staticmethod
  def _check_eager(method: str) -> None:
    if not tf.executing_eagerly():
      raise TypeError(f"TFPyEnvironment.{method}() runs eagerly only; call it outside "
                      "tf.function (e.g. from a Python driver loop)")

  def current_time_step(self) -> ts.TimeStep:
    self._check_eager("current_time_step")
    return _to_tensors(self._env.current_time_step())

  def reset(self) -> ts.TimeStep:
    self._check_eager("reset")
    return _to_tensors(self._env.reset())

  def step(self, action: Any) -> ts.TimeStep:
    """Steps with a batched action nest (tf.Tensors or numpy arrays)."""
    self._check_eager("step")
    return _to_tensors(self._env.step(_to_numpy(action)))

  def render(self, mode: str = "rgb_array") -> Optional[np.ndarray]:
    return self._env.render(mode)

  def seed(self, seed: Optional[int]) -> None:
    self._env.seed(seed)

  def get_info(self) -> Any:
    return self._env.get_info()

  def close(self) -> None:
    self._env.close()

  def __enter__(self) -> "TFPyEnvironment":
    return self

  def __exit__(self, *exc) -> None:
    self.close()
