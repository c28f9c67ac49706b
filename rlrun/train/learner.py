"""Learner: samples experience and runs the agent's train step, many steps per call."""

import os
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np
import tensorflow as tf

from rlrun.agents.tf_agent import LossInfo
from rlrun.utils.summaries import LazySummaryWriter


def _is_sample_info(spec: Any) -> bool:
  return type(spec).__name__ == "SampleInfo"


class Learner:
  """Trains `agent` on batches from `experience_dataset_fn()`.

  `run(iterations)` performs that many train steps. Steps are grouped into calls of
  up to `max_iterations_per_call`: one tf.function samples the batches and runs the
  steps in an XLA-compiled loop, so TensorFlow's per-call dispatch (~0.2 ms on CPU)
  is paid once per group rather than once per step.

  Args:
    root_dir: the run directory; loss summaries go to <root_dir>/train.
    train_step: the agent's train step counter.
    agent: a TFAgent.
    experience_dataset_fn: returns a tf.data.Dataset of experience, or of
      (experience, reverb.SampleInfo) pairs.
    triggers: callables(step) run after every run() call.
    summary_interval: train steps between loss summaries.
    use_xla: compile the train loop with XLA.
    max_iterations_per_call: the largest group of steps traced into one call.
  """

  def __init__(self, root_dir: str, train_step: tf.Variable, agent,
               experience_dataset_fn: Callable[[], tf.data.Dataset],
               triggers: Sequence[Callable[[int], Any]] = (), summary_interval: int = 1000,
               use_xla: bool = True, max_iterations_per_call: int = 16):
    self._train_step = train_step
    self._agent = agent
    self._dataset_fn = experience_dataset_fn
    self._iterator = None
    self._strip_info = False
    self.triggers = list(triggers)
    self._summary_interval = summary_interval
    self._max_per_call = max(1, max_iterations_per_call)
    self._writer = LazySummaryWriter(os.path.join(root_dir, "train"))
    # Traced without autograph: agents write their control flow with tf.cond / while
    # loops, and autograph's source conversion of a Keras train step costs seconds,
    # most of a short run's start-up.
    self._train_step_fn = tf.function(agent.train, autograph=False)
    self._train_many = tf.function(self._train_many_impl, jit_compile=use_xla, autograph=False)
    self._run_fns: Dict[int, Callable] = {}
    self._last_summary_step = int(train_step.numpy())
    self.last_loss: Optional[LossInfo] = None

  @property
  def train_step_numpy(self) -> int:
    return int(self._train_step.numpy())

  @property
  def summary_writer(self):
    return self._writer

  def _train_many_impl(self, experiences) -> LossInfo:
    """Trains on experiences[0], ..., experiences[count - 1]; returns the last LossInfo."""
    count = tf.nest.flatten(experiences)[0].shape[0]
    first = self._train_step_fn(tf.nest.map_structure(lambda x: x[0], experiences))
    def body(i, _):
      return i + 1, self._train_step_fn(tf.nest.map_structure(lambda x: x[i], experiences))
    _, last = tf.while_loop(lambda i, _: i < count, body, (tf.constant(1), first))
    return last

  def _run_fn(self, count: int) -> Callable:
    if count not in self._run_fns:
      def run(iterator):
        batches = []
        for _ in range(count):
          element = next(iterator)
          batches.append(element[0] if self._strip_info else element)
        stacked = tf.nest.map_structure(lambda *xs: tf.stack(xs), *batches)
        return self._train_many(stacked)
      self._run_fns[count] = tf.function(run, autograph=False)
    return self._run_fns[count]

  def _ensure_iterator(self) -> None:
    if self._iterator is None:
      dataset = self._dataset_fn()
      spec = dataset.element_spec
      self._strip_info = isinstance(spec, tuple) and len(spec) == 2 and _is_sample_info(spec[1])
      self._iterator = iter(dataset)

  def run(self, iterations: int = 1) -> LossInfo:
    """Runs `iterations` train steps, then the triggers; returns the last LossInfo."""
    self._ensure_iterator()
    remaining = iterations
    while remaining > 0:
      count = min(remaining, self._max_per_call)
      self.last_loss = self._run_fn(count)(self._iterator)
      remaining -= count
    step = self.train_step_numpy
    if step // self._summary_interval > self._last_summary_step // self._summary_interval:
      self.write_loss_summaries()
    for trigger in self.triggers:
      trigger(step)
    return self.last_loss

  def write_loss_summaries(self) -> None:
    if self.last_loss is None:
      return
    step = self.train_step_numpy
    self._last_summary_step = step
    with self._writer.as_default(step=step):
      tf.summary.scalar("losses/loss", self.last_loss.loss)
      extra = self.last_loss.extra
      for name, value in (extra._asdict().items() if hasattr(extra, "_asdict") else ()):
        tf.summary.scalar(f"losses/{name}", tf.reduce_mean(value))
    self._writer.flush()

  @staticmethod
  def loss_value(loss_info: Optional[LossInfo]) -> float:
    return float(np.asarray(loss_info.loss)) if loss_info is not None else float("nan")
