"""DynamicEpisodeDriver: runs a TFPolicy in a TFPyEnvironment for a number of episodes."""

from typing import Any, Callable, Optional, Sequence, Tuple

import tensorflow as tf

from rlrun.drivers.checks import check_count
from rlrun.drivers.dynamic_step_driver import TFDriver
from rlrun.environments import tf_py_environment
from rlrun.policies import tf_policy
from rlrun.trajectories import time_step as ts


class DynamicEpisodeDriver(TFDriver):
  """Steps `env` with `policy` until at least `num_episodes` episodes ended.

  An episode counts when its LAST time step arrives (traj.is_last()), summed over
  the batch. Once the count is reached, if the current time step is LAST in any
  batch entry, the driver runs one more iteration: the boundary step (LAST ->
  FIRST) that starts the next episode. So for an unbatched env the returned time
  step is a FIRST, and a later run() from it starts with a fresh episode. That
  extra iteration adds no steps or episodes for entries at a boundary; entries
  still mid-episode in a batched env do take a step in it.

  Args:
    env: a TFPyEnvironment.
    policy: the TFPolicy that picks actions.
    observers: callables taking each batched Trajectory (e.g. tf_metrics metrics).
    transition_observers: callables taking each Transition.
    num_episodes: how many episodes one run() completes.
  """

  def __init__(self, env: tf_py_environment.TFPyEnvironment, policy: tf_policy.TFPolicy,
               observers: Optional[Sequence[Callable]] = None,
               transition_observers: Optional[Sequence[Callable]] = None,
               num_episodes: int = 1):
    self._num_episodes = check_count(num_episodes, "num_episodes")
    super().__init__(env, policy, observers, transition_observers)

  @property
  def num_episodes(self) -> int:
    return self._num_episodes

  def _loop(self, time_step: ts.TimeStep, policy_state: Any,
            maximum_iterations: Optional[int]) -> Tuple[ts.TimeStep, Any]:
    target = self._num_episodes

    def cond(count, boundary_done, time_step, policy_state):
      del policy_state
      pending_boundary = tf.logical_and(tf.logical_not(boundary_done),
                                        tf.reduce_any(time_step.is_last()))
      return tf.logical_or(count < target, pending_boundary)

    def body(count, boundary_done, time_step, policy_state):
      # Entering with the target already reached means this is the closing boundary
      # step; flag it so a batch entry that ends during it cannot extend the run.
      boundary_done = count >= target
      traj, next_time_step, next_state = self._iterate(time_step, policy_state)
      count += tf.reduce_sum(tf.cast(traj.is_last(), tf.int32))
      return count, boundary_done, next_time_step, next_state

    # parallel_iterations=1: observers update variables, and iteration i+1 must see
    # the updates of iteration i.
    _, _, time_step, policy_state = tf.while_loop(
        cond, body, (tf.constant(0, tf.int32), tf.constant(False), time_step, policy_state),
        maximum_iterations=maximum_iterations, parallel_iterations=1)
    return time_step, policy_state
