"""TimeStep: what an environment returns after reset() or step()."""

from typing import Any, NamedTuple, Optional

import numpy as np

from rlrun.specs import array_spec
from rlrun.trajectories._nest_repr import nest_repr


class StepType:
  """Where a time step sits in its episode."""
  FIRST = np.asarray(0, dtype=np.int32)
  MID = np.asarray(1, dtype=np.int32)
  LAST = np.asarray(2, dtype=np.int32)


# Leaves that are plain numpy or Python values (checked first: the collect loop's case).
_NUMPY_LEAVES = (np.ndarray, np.generic, int, float)


def _is_tensor(x: Any) -> bool:
  return not isinstance(x, _NUMPY_LEAVES) and type(x).__module__.startswith("tensorflow")


def _equal(x: Any, value: np.ndarray) -> Any:
  if not isinstance(x, _NUMPY_LEAVES) and _is_tensor(x):
    import tensorflow as tf
    return tf.equal(x, tf.constant(value, x.dtype))
  return np.equal(x, value)


def all_true(x: Any) -> bool:
  """np.all(x) as a bool; a numpy bool scalar (an unbatched step's test) skips the reduction."""
  if isinstance(x, (bool, np.bool_)):
    return bool(x)
  return bool(np.all(x))


class TimeStep(NamedTuple):
  """step_type, the reward and discount of the transition that led here, and the observation."""
  step_type: Any
  reward: Any
  discount: Any
  observation: Any

  def is_first(self) -> Any:
    return _equal(self.step_type, StepType.FIRST)

  def is_mid(self) -> Any:
    return _equal(self.step_type, StepType.MID)

  def is_last(self) -> Any:
    return _equal(self.step_type, StepType.LAST)

  def __repr__(self) -> str:
    return nest_repr(self)


def time_step_spec(observation_spec: Any, reward_spec: Optional[Any] = None) -> TimeStep:
  """The TimeStep spec for an observation spec (numpy or tensor, matching the input)."""
  import tree
  leaf = tree.flatten(observation_spec)[0]
  if isinstance(leaf, array_spec.ArraySpec):
    return TimeStep(
        step_type=array_spec.ArraySpec((), np.int32, name="step_type"),
        reward=reward_spec or array_spec.ArraySpec((), np.float32, name="reward"),
        discount=array_spec.BoundedArraySpec((), np.float32, 0.0, 1.0, name="discount"),
        observation=observation_spec)
  from rlrun.specs import tensor_spec
  import tensorflow as tf
  return TimeStep(
      step_type=tf.TensorSpec((), tf.int32, name="step_type"),
      reward=tensor_spec.from_spec(reward_spec) if reward_spec is not None
      else tf.TensorSpec((), tf.float32, name="reward"),
      discount=tensor_spec.BoundedTensorSpec((), tf.float32, 0.0, 1.0, name="discount"),
      observation=observation_spec)


def _any_tensor(*values: Any) -> bool:
  """Whether any leaf of `values` is a TensorFlow value (then the step is built in TF)."""
  if all(isinstance(value, _NUMPY_LEAVES) for value in values):
    return False
  import tree
  return any(_is_tensor(leaf) for leaf in tree.flatten(values))


def _filled(value: Any, like: Any, dtype: Any, as_tensor: bool = False) -> Any:
  """`value` shaped like the leading (batch) dims `like` (None = scalar)."""
  if as_tensor:
    import tensorflow as tf
    dtype = tf.as_dtype(dtype)
    if like is None:
      return tf.constant(value, dtype)
    # tf.fill accepts a tensor batch size too (e.g. tf.shape(obs)[0] in a tf.function).
    return tf.fill(tf.stack(list(like)), tf.constant(value, dtype))
  if like is None:
    return np.asarray(value, dtype=dtype)
  return np.full(like, value, dtype=dtype)


def _batch_shape(batch_size: Optional[Any]):
  return None if batch_size is None else (batch_size,)


def restart(observation: Any, batch_size: Optional[Any] = None) -> TimeStep:
  """The first time step of an episode: reward 0, discount 1.

  Tensor observations give tensor fields (step_type int32, reward and discount
  float32); numpy observations give numpy fields. `batch_size` adds that leading dim.
  """
  shape = _batch_shape(batch_size)
  as_tensor = _any_tensor(observation, batch_size)
  return TimeStep(_filled(StepType.FIRST, shape, np.int32, as_tensor),
                  _filled(0.0, shape, np.float32, as_tensor),
                  _filled(1.0, shape, np.float32, as_tensor), observation)


def _after_step(step_type: np.ndarray, observation: Any, reward: Any, discount: Any) -> TimeStep:
  """A TimeStep whose step_type and discount take the shape of `reward`."""
  if _any_tensor(observation, reward, discount):
    import tensorflow as tf
    reward = tf.convert_to_tensor(reward, tf.float32)
    discount = tf.cast(discount, tf.float32)
    return TimeStep(tf.fill(tf.shape(reward), tf.constant(step_type, tf.int32)), reward,
                    tf.broadcast_to(discount, tf.shape(reward)), observation)
  reward = np.asarray(reward, dtype=np.float32)
  if reward.ndim == 0:  # an unbatched step (np.full is slower for scalars)
    return TimeStep(np.array(step_type, np.int32), reward, np.array(discount, np.float32),
                    observation)
  return TimeStep(np.full(reward.shape, step_type, np.int32), reward,
                  np.full(reward.shape, discount, np.float32), observation)


def transition(observation: Any, reward: Any, discount: Any = 1.0) -> TimeStep:
  """A step in the middle of an episode."""
  return _after_step(StepType.MID, observation, reward, discount)


def termination(observation: Any, reward: Any) -> TimeStep:
  """The last step of an episode that ended: no future value (discount 0)."""
  return _after_step(StepType.LAST, observation, reward, 0.0)


def truncation(observation: Any, reward: Any, discount: Any = 1.0) -> TimeStep:
  """The last step of an episode cut short (e.g. a time limit): the future still counts."""
  return _after_step(StepType.LAST, observation, reward, discount)
