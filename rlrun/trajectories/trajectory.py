"""Trajectory: one step of experience as it is stored in replay.

A Trajectory at index t joins the time step t (step_type, observation), the action
taken there (action, policy_info), and what followed (next_step_type, reward,
discount). A trajectory whose step_type is LAST and next_step_type FIRST is a
*boundary*: it spans two episodes and carries no learnable transition.
"""

from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from rlrun.trajectories.policy_step import PolicyStep
from rlrun.trajectories.time_step import StepType, TimeStep, _equal, _is_tensor
from rlrun.trajectories._nest_repr import nest_repr


class Trajectory(NamedTuple):
  step_type: Any
  observation: Any
  action: Any
  policy_info: Any
  next_step_type: Any
  reward: Any
  discount: Any

  def is_first(self) -> Any:
    return _equal(self.step_type, StepType.FIRST)

  def is_mid(self) -> Any:
    return _both(_equal(self.step_type, StepType.MID), _equal(self.next_step_type, StepType.MID))

  def is_last(self) -> Any:
    return _equal(self.next_step_type, StepType.LAST)

  def is_boundary(self) -> Any:
    return _equal(self.step_type, StepType.LAST)

  def __repr__(self) -> str:
    return nest_repr(self)


class Transition(NamedTuple):
  time_step: TimeStep
  action_step: PolicyStep
  next_time_step: TimeStep


def _both(a: Any, b: Any) -> Any:
  if _is_tensor(a):
    import tensorflow as tf
    return tf.logical_and(a, b)
  return a & b


def scalar_step_types(trajectory: Trajectory) -> Optional[Tuple[int, int]]:
  """(step_type, next_step_type) as ints when both are 0-d numpy values (one unbatched
  step: callers then compare ints instead of reducing arrays); otherwise None."""
  step_type, next_step_type = trajectory.step_type, trajectory.next_step_type
  if (isinstance(step_type, (np.ndarray, np.generic)) and step_type.ndim == 0 and
      isinstance(next_step_type, (np.ndarray, np.generic)) and next_step_type.ndim == 0):
    return int(step_type), int(next_step_type)
  return None


def from_transition(time_step: TimeStep, action_step: PolicyStep,
                    next_time_step: TimeStep) -> Trajectory:
  """Joins (s_t, a_t, s_t+1) into the Trajectory stored for step t."""
  return Trajectory(step_type=time_step.step_type, observation=time_step.observation,
                    action=action_step.action, policy_info=action_step.info,
                    next_step_type=next_time_step.step_type, reward=next_time_step.reward,
                    discount=next_time_step.discount)


def to_transition(trajectory: Trajectory, next_trajectory: Any = None) -> Transition:
  """Splits batched [B, T, ...] trajectories into transitions (t -> t+1).

  With one argument, consecutive pairs along the time axis are used: the result has
  T-1 steps. The reward and discount of a transition are stored on the earlier
  trajectory; the next observation is the later one's.
  """
  import tensorflow as tf
  if next_trajectory is None:
    next_trajectory = tf.nest.map_structure(lambda x: x[:, 1:], trajectory)
    trajectory = tf.nest.map_structure(lambda x: x[:, :-1], trajectory)
  time_steps = TimeStep(step_type=trajectory.step_type,
                        reward=tf.zeros_like(trajectory.reward),
                        discount=tf.ones_like(trajectory.discount),
                        observation=trajectory.observation)
  action_steps = PolicyStep(action=trajectory.action, state=(), info=trajectory.policy_info)
  next_time_steps = TimeStep(step_type=trajectory.next_step_type, reward=trajectory.reward,
                             discount=trajectory.discount,
                             observation=next_trajectory.observation)
  return Transition(time_steps, action_steps, next_time_steps)


__all__ = ["Trajectory", "Transition", "from_transition", "to_transition", "nest_repr"]
