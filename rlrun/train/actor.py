"""Actor: runs a policy in an environment for a number of steps or episodes per run()."""

from typing import Callable, Dict, Optional, Sequence

import numpy as np
import tensorflow as tf

from rlrun.drivers.py_driver import PyDriver
from rlrun.metrics import py_metrics
from rlrun.utils.summaries import LazySummaryWriter


class Actor:
  """Collects experience (or evaluates) with a PyPolicy and reports metrics.

  Args:
    env: the PyEnvironment.
    policy: the PyPolicy to act with.
    train_step: the learner's step variable (summaries are written against it).
    steps_per_run: environment steps per run() (or episodes_per_run).
    episodes_per_run: episodes per run().
    observers: callables taking each Trajectory (e.g. the replay observer).
    metrics: py_metrics observers that are reported as summaries.
    summary_dir: where metric summaries go (None: none are written).
    summary_interval: train steps between metric summaries.
    variable_client: an object whose `update()` pulls the latest policy weights; it
      is called at the start of every run().
    name: the summary tag prefix group ('collect' or 'eval').
    count_boundaries: steps_per_run counts every environment call, boundary steps
      included (an on-policy rollout of exactly steps_per_run / batch size calls).
  """

  def __init__(self, env, policy, train_step: tf.Variable, steps_per_run: Optional[int] = None,
               episodes_per_run: Optional[int] = None, observers: Sequence[Callable] = (),
               metrics: Sequence[py_metrics.PyStepMetric] = (), summary_dir: Optional[str] = None,
               summary_interval: int = 1000, variable_client=None, name: str = "collect",
               count_boundaries: bool = False):
    if steps_per_run is None and episodes_per_run is None:
      raise ValueError("Actor needs steps_per_run or episodes_per_run")
    self._env = env
    self._policy = policy
    self._train_step = train_step
    self._steps_per_run = steps_per_run
    self._episodes_per_run = episodes_per_run
    self._observers = list(observers)
    self._metrics = list(metrics)
    self._summary_interval = summary_interval
    self._variable_client = variable_client
    self._name = name
    self._count_boundaries = count_boundaries
    self._writer = LazySummaryWriter(summary_dir) if summary_dir else None
    self._drivers: Dict[Optional[int], PyDriver] = {}
    self._time_step = None
    self._policy_state = policy.get_initial_state()
    self._last_summary_step: Optional[int] = None

  @property
  def metrics(self):
    return list(self._metrics)

  @property
  def policy(self):
    return self._policy

  @property
  def env(self):
    return self._env

  def _driver(self, steps: Optional[int]) -> PyDriver:
    if steps not in self._drivers:
      self._drivers[steps] = PyDriver(
          self._env, self._policy, self._observers + self._metrics,
          max_steps=steps if steps is not None else self._steps_per_run,
          max_episodes=None if steps is not None else self._episodes_per_run,
          count_boundaries=self._count_boundaries)
    return self._drivers[steps]

  def run(self, steps: Optional[int] = None, pull_weights: bool = True) -> None:
    """Runs `steps` steps (default: steps_per_run / episodes_per_run).

    The policy's weights are pulled from the variable client first, unless
    `pull_weights` is False (the caller pulled them with `pull_weights()`).
    """
    if pull_weights:
      self.pull_weights()
    if self._time_step is None:
      self._time_step = self._env.reset()
    self._time_step, self._policy_state = self._driver(steps).run(self._time_step,
                                                                 self._policy_state)
    step = int(self._train_step.numpy())
    if self._writer and (self._last_summary_step is None or
                         step // self._summary_interval > self._last_summary_step // self._summary_interval):
      self.write_metric_summaries()

  def pull_weights(self) -> None:
    """Refreshes the policy's weights from the variable client, if there is one."""
    if self._variable_client is not None:
      self._variable_client.update()

  @property
  def time_step(self):
    """The time step the next run() acts on (None before the first run)."""
    return self._time_step

  def episode_state(self):
    """(environment, current time step, policy state): where collection stands."""
    return self._env, self._time_step, self._policy_state

  def set_episode_state(self, env, time_step, policy_state) -> None:
    """Continues from a saved `episode_state()` (the drivers are rebuilt on `env`)."""
    self._env, self._time_step, self._policy_state = env, time_step, policy_state
    self._drivers.clear()

  def reset(self) -> None:
    """Starts a fresh episode on the next run()."""
    self._time_step = None
    self._policy_state = self._policy.get_initial_state()

  def write_metric_summaries(self) -> None:
    step = int(self._train_step.numpy())
    self._last_summary_step = step
    if self._writer is None:
      return
    with self._writer.as_default(step=step):
      for metric in self._metrics:
        tf.summary.scalar(f"metrics/{metric.name}", np.asarray(metric.result(), np.float64))
    self._writer.flush()
