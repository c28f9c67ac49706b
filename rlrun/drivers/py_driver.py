"""PyDriver: runs a numpy policy in a numpy environment and feeds observers."""

from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from rlrun.drivers.checks import check_callables, check_limit
from rlrun.environments import py_environment
from rlrun.policies import py_policy
from rlrun.trajectories import time_step as ts, trajectory

_LAST = int(ts.StepType.LAST)


class PyDriver:
  """Steps `env` with `policy` until max_steps steps or max_episodes episodes are done.

  Every step becomes a Trajectory passed to each observer; transition observers get
  the Transition(time_step, action_step, next_time_step). Counting: a boundary
  trajectory (LAST -> FIRST, the environment's auto-reset) is not a step; an episode
  counts when its LAST time step arrives (traj.is_last()). For a batched environment
  both are summed over the batch. run() stops as soon as either limit is reached.

  Args:
    env: the PyEnvironment (batched or not).
    policy: the PyPolicy that picks actions.
    observers: callables taking a Trajectory (replay_buffer.append, metrics, ...).
    transition_observers: callables taking a Transition.
    max_steps: stop once this many (non-boundary) steps ran; None for no limit.
    max_episodes: stop once this many episodes ended; None for no limit.
    end_episode_on_boundary: for an unbatched env, reset the policy state to
      policy.get_initial_state() after each boundary step, i.e. when a new episode
      starts. False carries the state across episodes.
    count_boundaries: count every environment call as batch-size steps, boundary
      steps included, so max_steps = T * batch size makes exactly T calls (an
      on-policy rollout).
  """

  def __init__(self, env: py_environment.PyEnvironment, policy: py_policy.PyPolicy,
               observers: Optional[Sequence[Callable[[trajectory.Trajectory], Any]]],
               transition_observers: Optional[Sequence[Callable]] = None,
               max_steps: Optional[int] = None, max_episodes: Optional[int] = None,
               end_episode_on_boundary: bool = True, count_boundaries: bool = False):
    self._max_steps = check_limit(max_steps, "max_steps")
    self._max_episodes = check_limit(max_episodes, "max_episodes")
    if self._max_steps is None and self._max_episodes is None:
      raise ValueError("PyDriver needs max_steps or max_episodes (or both); both are None, "
                       "so run() would never stop.")
    self._env = env
    self._policy = policy
    self._observers = check_callables(observers, "observers")
    self._transition_observers = check_callables(transition_observers, "transition_observers")
    self._end_episode_on_boundary = bool(end_episode_on_boundary)
    self._count_boundaries = bool(count_boundaries)

  @property
  def env(self) -> py_environment.PyEnvironment:
    return self._env

  @property
  def policy(self) -> py_policy.PyPolicy:
    return self._policy

  @property
  def observers(self) -> list:
    return self._observers

  @property
  def transition_observers(self) -> list:
    return self._transition_observers

  def run(self, time_step: ts.TimeStep, policy_state: Any = ()) -> Tuple[ts.TimeStep, Any]:
    """Runs from `time_step`; returns the last time step and policy state, to resume from."""
    max_steps = np.inf if self._max_steps is None else self._max_steps
    max_episodes = np.inf if self._max_episodes is None else self._max_episodes
    reset_state = self._end_episode_on_boundary and not self._env.batched
    num_steps = num_episodes = 0
    while num_steps < max_steps and num_episodes < max_episodes:
      action_step = self._policy.action(time_step, policy_state)
      next_time_step = self._env.step(action_step.action)
      traj = trajectory.from_transition(time_step, action_step, next_time_step)
      for observer in self._transition_observers:
        observer(trajectory.Transition(time_step, action_step, next_time_step))
      for observer in self._observers:
        observer(traj)
      step_types = trajectory.scalar_step_types(traj)
      if step_types is not None:  # one unbatched step: int comparisons, no reductions
        boundary = step_types[0] == _LAST
        num_episodes += step_types[1] == _LAST
        num_steps += 1 if self._count_boundaries or not boundary else 0
      else:
        is_boundary = np.asarray(traj.is_boundary())
        num_episodes += int(np.sum(traj.is_last()))
        num_steps += is_boundary.size if self._count_boundaries else int(np.sum(~is_boundary))
        boundary = bool(np.all(is_boundary))
      time_step = next_time_step
      policy_state = action_step.state
      if reset_state and boundary:
        policy_state = self._policy.get_initial_state(self._env.batch_size)
    return time_step, policy_state
