"""TFPolicy: the TensorFlow policy interface, and the helpers its subclasses share."""

from typing import Any, Optional

import numpy as np
import tensorflow as tf

from rlrun.specs import tensor_spec
from rlrun.trajectories import PolicyStep, TimeStep, Trajectory


def outer_batch_size(time_step: TimeStep, time_step_spec: TimeStep) -> tf.Tensor:
  """The batch size of `time_step` (its step_type's leading dim, or 1 when unbatched)."""
  step_type = tf.convert_to_tensor(time_step.step_type)
  if step_type.shape.rank == time_step_spec.step_type.shape.rank:
    return tf.constant(1)
  return tf.shape(step_type)[0]


def is_unbatched(time_step: Optional[TimeStep], time_step_spec: TimeStep) -> bool:
  """Whether `time_step` has no outer (batch) dim, i.e. step_type has the spec's rank."""
  if time_step is None:
    return False
  rank = tf.convert_to_tensor(time_step.step_type).shape.rank
  return rank is not None and rank == time_step_spec.step_type.shape.rank


def add_batch_dim(nest: Any) -> Any:
  """Adds a leading dim of 1 to every leaf (numpy or tensor) of `nest`."""
  return tf.nest.map_structure(lambda x: tf.expand_dims(tf.convert_to_tensor(x), 0), nest)


def _remove_batch_dim(value: Any) -> Any:
  # Distributions are sliced along their batch shape; tensors along their first axis.
  return value[0]


def clip_to_spec(action: Any, action_spec: Any) -> Any:
  """Clips every bounded float action to its spec's [minimum, maximum]."""
  def clip(a, spec):
    if tensor_spec.is_bounded(spec) and spec.dtype.is_floating:
      return tf.clip_by_value(a, tf.cast(spec.minimum, a.dtype), tf.cast(spec.maximum, a.dtype))
    return a
  return tf.nest.map_structure(clip, action, action_spec)


class TFPolicy(tf.Module):
  """Maps batched TimeStep tensors (and a policy state) to actions.

  Subclasses implement `_distribution` (and optionally `_action`, which by default
  samples from the distribution).

  Args:
    time_step_spec: TimeStep of TensorSpecs (without batch dim).
    action_spec: nest of (Bounded)TensorSpecs of one action.
    policy_state_spec: spec of the recurrent state; () when stateless.
    info_spec: spec of PolicyStep.info; () when none.
    clip: clip continuous actions to the action spec's bounds.
    name: the module's name.
  """

  def __init__(self, time_step_spec: TimeStep, action_spec: Any, policy_state_spec: Any = (),
               info_spec: Any = (), clip: bool = True, name: Optional[str] = None):
    super().__init__(name=name)
    self._time_step_spec = tensor_spec.from_spec(time_step_spec)
    self._action_spec = tensor_spec.from_spec(action_spec)
    self._policy_state_spec = tensor_spec.from_spec(policy_state_spec)
    self._info_spec = tensor_spec.from_spec(info_spec)
    self._clip = clip

  @property
  def time_step_spec(self) -> TimeStep:
    return self._time_step_spec

  @property
  def action_spec(self) -> Any:
    return self._action_spec

  @property
  def policy_state_spec(self) -> Any:
    return self._policy_state_spec

  @property
  def info_spec(self) -> Any:
    return self._info_spec

  @property
  def trajectory_spec(self) -> Trajectory:
    """The spec of the Trajectories this policy produces when collecting."""
    spec = self._time_step_spec
    return Trajectory(step_type=spec.step_type, observation=spec.observation,
                      action=self._action_spec, policy_info=self._info_spec,
                      next_step_type=spec.step_type, reward=spec.reward,
                      discount=spec.discount)

  collect_data_spec = trajectory_spec

  def get_initial_state(self, batch_size: Any = None) -> Any:
    if not tf.nest.flatten(self._policy_state_spec):
      return ()
    return tensor_spec.zero_spec_nest(self._policy_state_spec,
                                      () if batch_size is None else (batch_size,))

  def action(self, time_step: TimeStep, policy_state: Any = (), seed: Any = None) -> PolicyStep:
    """Returns PolicyStep(action, next state, info) for a time step.

    A batched time step gives batched actions; an unbatched one (step_type of the
    spec's rank, e.g. from `ts.restart(obs)`) gives unbatched actions.
    """
    if is_unbatched(time_step, self._time_step_spec):
      step = self.action(add_batch_dim(time_step), add_batch_dim(policy_state), seed)
      return tf.nest.map_structure(_remove_batch_dim, step)
    step = self._action(time_step, policy_state, seed)
    if self._clip:
      step = step._replace(action=clip_to_spec(step.action, self._action_spec))
    return step

  def distribution(self, time_step: TimeStep, policy_state: Any = ()) -> PolicyStep:
    """Returns PolicyStep(action distribution, next state, info), batched like the input."""
    if is_unbatched(time_step, self._time_step_spec):
      step = self._distribution(add_batch_dim(time_step), add_batch_dim(policy_state))
      return tf.nest.map_structure(_remove_batch_dim, step)
    return self._distribution(time_step, policy_state)

  def _action(self, time_step: TimeStep, policy_state: Any, seed: Any) -> PolicyStep:
    step = self._distribution(time_step, policy_state)
    action = tf.nest.map_structure(lambda d: d.sample(seed=seed), step.action)
    return step._replace(action=action)

  def _distribution(self, time_step: TimeStep, policy_state: Any) -> PolicyStep:
    raise NotImplementedError(f"{type(self).__name__} has no action distribution")

  def as_numpy_policy(self, greedy: bool = False) -> Optional[Any]:
    """A numpy PyPolicy computing the same actions faster, or None (see numpy_q_policy).

    With `greedy`, the numpy policy takes the mode of this policy's distribution.
    """
    return None


def action_offset(action_spec: Any) -> np.ndarray:
  """The minimum of a discrete action spec: actions are argmax indices plus this."""
  return np.asarray(np.min(tf.nest.flatten(action_spec)[0].minimum))
