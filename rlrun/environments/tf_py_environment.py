"""TFPyEnvironment: exposes a PyEnvironment through TensorFlow specs and tensors."""

from typing import Any, Callable, List, Optional

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

  Eagerly, reset()/step()/current_time_step() call the Python env directly. Inside
  a tf.function (or a tf.while_loop body) they become tf.numpy_function ops whose
  outputs carry the static shape [batch_size] + spec shape and the spec dtypes, so
  TF drivers can loop over the env in graph mode. Each call is one stateful op run
  on the calling thread (no locking needed). Graph ordering comes from data flow
  only: when an action does not read the previous time step (a random policy),
  put step() under tf.control_dependencies on that time step, as the TF drivers do.

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

  def current_time_step(self) -> ts.TimeStep:
    """The env's current (batched) time step; resets it first if it never ran."""
    if tf.executing_eagerly():
      return _to_tensors(self._env.current_time_step())
    return self._graph_call("current_time_step", lambda: self._env.current_time_step(), [])

  def reset(self) -> ts.TimeStep:
    """Starts new episodes in every batch entry and returns their FIRST time steps."""
    if tf.executing_eagerly():
      return _to_tensors(self._env.reset())
    return self._graph_call("reset", self._env.reset, [])

  def step(self, action: Any) -> ts.TimeStep:
    """Steps with a batched action nest (tf.Tensors or numpy arrays)."""
    if tf.executing_eagerly():
      return _to_tensors(self._env.step(_to_numpy(action)))
    flat_specs = tf.nest.flatten(self._action_spec)
    try:
      tf.nest.assert_same_structure(self._action_spec, action, check_types=False)
    except (ValueError, TypeError) as e:
      raise ValueError(f"action {action!r} does not match the structure of action_spec "
                       f"{self._action_spec!r}: {e}") from e
    flat_actions = tf.nest.flatten(action)
    flat_actions = [tf.convert_to_tensor(a, dtype_hint=s.dtype)
                    for a, s in zip(flat_actions, flat_specs)]
    for a in flat_actions:
      self._check_batch_dim(a)
    def py_step(*arrays: np.ndarray) -> ts.TimeStep:
      return self._env.step(tf.nest.pack_sequence_as(self._action_spec, list(arrays)))
    return self._graph_call("step", py_step, flat_actions)

  def _check_batch_dim(self, action: tf.Tensor) -> None:
    # Caught while tracing: inside the numpy function it would surface as an opaque
    # InvalidArgumentError at run time.
    shape = action.shape
    if shape.rank == 0 or (shape.rank is not None and shape[0] is not None
                           and shape[0] != self.batch_size):
      raise ValueError(f"action leaf of shape {shape} has no leading batch dimension of "
                       f"size {self.batch_size}; pass actions shaped ({self.batch_size}, ...)")

  def _graph_call(self, method: str, fn: Callable[..., ts.TimeStep],
                  inputs: List[tf.Tensor]) -> ts.TimeStep:
    """Runs `fn(*inputs)` as a tf.numpy_function returning a statically shaped TimeStep."""
    flat_specs = tf.nest.flatten(self._time_step_spec)

    def py_fn(*arrays: np.ndarray) -> List[np.ndarray]:
      flat = tf.nest.flatten(fn(*arrays))
      # numpy_function demands the exact declared dtypes (e.g. float64 rewards break it).
      return [np.asarray(x, dtype=s.dtype.as_numpy_dtype) for x, s in zip(flat, flat_specs)]

    outputs = tf.numpy_function(py_fn, inputs, [s.dtype for s in flat_specs], stateful=True,
                                name=f"TFPyEnvironment_{method}")
    for output, spec in zip(outputs, flat_specs):
      output.set_shape(tf.TensorShape([self.batch_size]).concatenate(spec.shape))
    return tf.nest.pack_sequence_as(self._time_step_spec, outputs)

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
