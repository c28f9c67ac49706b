"""DynamicStepDriver: runs a TFPolicy in a TFPyEnvironment for a number of steps, in graph.

The loop is an explicit tf.while_loop inside a tf.function (autograph off), so the
policy, the environment's numpy_function steps and the observers' variable updates
all run as one graph call per run().
"""

from typing import Any, Callable, List, Optional, Sequence, Tuple

import tensorflow as tf

from rlrun.drivers.checks import check_callables, check_count
from rlrun.environments import tf_py_environment
from rlrun.policies import tf_policy
from rlrun.trajectories import time_step as ts, trajectory


class TFDriver:
  """Shared machinery of the TF drivers: argument checks and one loop iteration.

  Subclasses implement `_loop(time_step, policy_state, maximum_iterations)`, which
  runs in graph mode and returns the final (time_step, policy_state).

  Args:
    env: the TFPyEnvironment to step.
    policy: the TFPolicy that picks actions.
    observers: callables taking the batched Trajectory of each iteration.
    transition_observers: callables taking the Transition of each iteration.
  """

  def __init__(self, env: tf_py_environment.TFPyEnvironment, policy: tf_policy.TFPolicy,
               observers: Optional[Sequence[Callable]] = None,
               transition_observers: Optional[Sequence[Callable]] = None):
    if not isinstance(env, tf_py_environment.TFPyEnvironment):
      raise TypeError(f"env must be a TFPyEnvironment, got {type(env).__name__}: {env!r}; wrap "
                      "a PyEnvironment with tf_py_environment.TFPyEnvironment (or use PyDriver).")
    if not isinstance(policy, tf_policy.TFPolicy):
      raise TypeError(f"policy must be a TFPolicy, got {type(policy).__name__}: {policy!r}; "
                      "use PyDriver for numpy policies.")
    self._env = env
    self._policy = policy
    self._observers = check_callables(observers, "observers")
    self._transition_observers = check_callables(transition_observers, "transition_observers")
    # autograph off: the loop is written with tf.while_loop explicitly, and skipping
    # the conversion keeps tracing fast and the Python in observers untouched.
    self._run_fn = tf.function(self._run, autograph=False)

  @property
  def env(self) -> tf_py_environment.TFPyEnvironment:
    return self._env

  @property
  def policy(self) -> tf_policy.TFPolicy:
    return self._policy

  @property
  def observers(self) -> List[Callable]:
    return self._observers

  @property
  def transition_observers(self) -> List[Callable]:
    return self._transition_observers

  def run(self, time_step: Optional[ts.TimeStep] = None, policy_state: Any = None,
          maximum_iterations: Optional[int] = None) -> Tuple[ts.TimeStep, Any]:
    """Runs the loop; returns the final time step and policy state, to resume from.

    Args:
      time_step: where to start; None takes env.current_time_step() (which resets
        an env that never ran).
      policy_state: the policy state to start with; None takes
        policy.get_initial_state(env.batch_size).
      maximum_iterations: an extra cap on loop iterations (boundary steps included).
    """
    if maximum_iterations is not None:
      maximum_iterations = check_count(maximum_iterations, "maximum_iterations")
    return self._run_fn(time_step, policy_state, maximum_iterations)

  def _run(self, time_step: Optional[ts.TimeStep], policy_state: Any,
           maximum_iterations: Optional[int]) -> Tuple[ts.TimeStep, Any]:
    if time_step is None:
      time_step = self._env.current_time_step()
    if policy_state is None:
      policy_state = self._policy.get_initial_state(self._env.batch_size)
    return self._loop(time_step, policy_state, maximum_iterations)

  def _loop(self, time_step: ts.TimeStep, policy_state: Any,
            maximum_iterations: Optional[int]) -> Tuple[ts.TimeStep, Any]:
    raise NotImplementedError

  def _iterate(self, time_step: ts.TimeStep,
               policy_state: Any) -> Tuple[trajectory.Trajectory, ts.TimeStep, Any]:
    """One policy action and env step, fed to every observer; returns (traj, next, state)."""
    action_step = self._policy.action(time_step, policy_state)
    # An action that does not read the time step (a random or constant policy) would
    # otherwise let the lowered loop run this env step before the op that produced
    # `time_step` (e.g. the first current_time_step(), which may reset the env).
    with tf.control_dependencies(tf.nest.flatten(time_step)):
      next_time_step = self._env.step(action_step.action)
    traj = trajectory.from_transition(time_step, action_step, next_time_step)
    for observer in self._transition_observers:
      observer(trajectory.Transition(time_step, action_step, next_time_step))
    for observer in self._observers:
      observer(traj)
    return traj, next_time_step, action_step.state


def num_steps_in(traj: trajectory.Trajectory) -> tf.Tensor:
  """Non-boundary entries of a batched trajectory (int32): what counts as env steps."""
  return tf.reduce_sum(tf.cast(tf.logical_not(traj.is_boundary()), tf.int32))


class DynamicStepDriver(TFDriver):
  """Steps `env` with `policy` until at least `num_steps` environment steps ran.

  Counting follows PyDriver: a boundary trajectory (LAST -> FIRST, the env's
  auto-reset) is not a step, and steps are summed over the batch, so a batched env
  may overshoot num_steps by up to batch_size - 1. The returned time step can be
  anywhere in an episode; pass it (and the policy state) to the next run() to
  continue.

  Args:
    env: a TFPyEnvironment.
    policy: the TFPolicy that picks actions.
    observers: callables taking each batched Trajectory (e.g. tf_metrics metrics).
    transition_observers: callables taking each Transition.
    num_steps: how many (non-boundary) environment steps one run() takes.
  """

  def __init__(self, env: tf_py_environment.TFPyEnvironment, policy: tf_policy.TFPolicy,
               observers: Optional[Sequence[Callable]] = None,
               transition_observers: Optional[Sequence[Callable]] = None, num_steps: int = 1):
    self._num_steps = check_count(num_steps, "num_steps")
    super().__init__(env, policy, observers, transition_observers)

  @property
  def num_steps(self) -> int:
    return self._num_steps

  def _loop(self, time_step: ts.TimeStep, policy_state: Any,
            maximum_iterations: Optional[int]) -> Tuple[ts.TimeStep, Any]:
    def cond(count, time_step, policy_state):
      del time_step, policy_state
      return count < self._num_steps

    def body(count, time_step, policy_state):
      traj, next_time_step, next_state = self._iterate(time_step, policy_state)
      return count + num_steps_in(traj), next_time_step, next_state

    # parallel_iterations=1: observers update variables, and iteration i+1 must see
    # the updates of iteration i.
    _, time_step, policy_state = tf.while_loop(
        cond, body, (tf.constant(0, tf.int32), time_step, policy_state),
        maximum_iterations=maximum_iterations, parallel_iterations=1)
    return time_step, policy_state
