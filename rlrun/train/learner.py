"""Learner: samples experience and runs the agent's train step, many steps per call."""

import os
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np
import tensorflow as tf

from rlrun.agents.tf_agent import LossInfo
from rlrun.train import strategies
from rlrun.utils.summaries import LazySummaryWriter


def _is_sample_info(spec: Any) -> bool:
  return type(spec).__name__ == "SampleInfo"


def _has_sample_info(spec: Any) -> bool:
  """Whether a dataset's elements are (experience, reverb.SampleInfo) pairs."""
  return isinstance(spec, tuple) and len(spec) == 2 and _is_sample_info(spec[1])


def sample_stats(info, prioritized: bool, train_step=None) -> Dict[str, tf.Tensor]:
  """How many times the sampled items have been sampled, this time included (mean, max);
  for a prioritized table, their priorities (min, mean, max) and the effective sample size
  of the batch (sum(w)^2 / sum(w^2) over the inverse sampling probabilities, divided by the
  batch size); with `train_step` (tables whose writers stamp each item's priority with the
  train step it was written at), the items' staleness: train_step - stamp (mean, max)."""
  times = tf.cast(info.times_sampled, tf.float32)
  stats = {"times_sampled_mean": tf.reduce_mean(times), "times_sampled_max": tf.reduce_max(times)}
  if train_step is not None and not prioritized:
    age = tf.cast(train_step, tf.float64) - tf.cast(info.priority, tf.float64)
    stats.update(staleness_mean=tf.cast(tf.reduce_mean(age), tf.float32),
                 staleness_max=tf.cast(tf.reduce_max(age), tf.float32))
  if prioritized:
    priority = tf.cast(info.priority, tf.float32)
    inverse = 1.0 / tf.cast(info.probability, tf.float32)
    stats.update(priority_min=tf.reduce_min(priority), priority_mean=tf.reduce_mean(priority),
                 priority_max=tf.reduce_max(priority),
                 effective_sample_size=tf.square(tf.reduce_sum(inverse)) /
                 tf.reduce_sum(tf.square(inverse)) / tf.cast(tf.size(inverse), tf.float32))
  return stats


def importance_weights(probability: tf.Tensor, table_size: tf.Tensor,
                       exponent: float) -> tf.Tensor:
  """(N * P(i))^-exponent, normalised by the batch maximum (Schaul et al. 2016)."""
  weights = tf.pow(tf.cast(table_size, tf.float32) * tf.cast(probability, tf.float32), -exponent)
  return weights / tf.reduce_max(weights, axis=-1, keepdims=True)


# tf.data refuses more than 32 get_next calls traced on one iterator. Groups are read with
# one unrolled call per batch (the fastest: ~5% less CPU per DQN step than a graph loop)
# while this many traced calls are left; larger groups, and every group once they are
# spent, in a graph loop that traces one call.
_UNROLLED_GETS = 24


def _unrolled_elements(iterator, count: int):
  """`count` elements of `iterator`, stacked, one traced get_next call each."""
  elements = [next(iterator) for _ in range(count)]
  return tf.nest.map_structure(lambda *xs: tf.stack(xs), *elements)


def _next_elements(iterator, count: int):
  """`count` elements of `iterator`, stacked, read in a graph loop (one traced call)."""
  spec = iterator.element_spec
  flat_specs = tf.nest.flatten(spec)
  arrays = [tf.TensorArray(s.dtype, size=count, element_shape=s.shape) for s in flat_specs]
  def body(i, arrays):
    element = tf.nest.flatten(iterator.get_next())
    return i + 1, [a.write(i, e) for a, e in zip(arrays, element)]
  _, arrays = tf.while_loop(lambda i, _: i < count, body, (tf.constant(0), arrays))
  return tf.nest.pack_sequence_as(spec, [a.stack() for a in arrays])


class Learner:
  """Trains `agent` on batches from `experience_dataset_fn()`.

  `run(iterations)` performs that many train steps. Steps are grouped into calls of
  up to `max_iterations_per_call`: one tf.function samples the batches and runs the
  steps in an XLA-compiled loop, so TensorFlow's per-call dispatch (~0.2 ms on CPU)
  is paid once per group rather than once per step. A shorter group is padded with zeros
  to the group size and its step count passed at call time, so every group runs the one
  compiled program (XLA compiles per input shape: a second size was a second compile).

  Under a tf.distribute strategy other than the default one (the agent's variables
  created in its scope), each batch is split between the replicas and every step is
  `strategy.run(agent.train)` in a plain (not XLA-compiled) tf.while_loop: the
  replicas' synchronisation points (optimizers summing gradients) cannot run inside
  XLA or a nested tf.function. The returned loss is the replicas' mean; per-example
  extras are concatenated back to the whole batch.

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
    priority_update_fn: for prioritized replay: called after each call with the
      sampled keys and their new priorities (|TD error| + priority_epsilon). The
      batches are then weighted by importance_weights(..., importance_exponent), and
      the agent's LossInfo.extra must have a `td_error`.
    importance_exponent: beta of the importance weights.
    priority_epsilon: added to |TD error| so no item's priority reaches zero.
    strategy: the tf.distribute strategy the agent was built under (None: default).
    summary_step: the variable whose value is the summaries' x-axis (default:
      train_step; the runner passes its iteration counter).
    sample_fn: instead of a dataset: sample_fn(count) returns `count` batches stacked
      ([count, batch, T, ...] numpy arrays), sampled in the calling thread (local replay).
    stamped_items: the writers stamp each item's priority with the train step it was
      written at (ReverbAddTrajectoryObserver.stamp): staleness goes into the sample stats.

  Raises:
    ValueError: under a non-default strategy, for prioritized replay or a batch size
      that the number of replicas does not divide.
  """

  def __init__(self, root_dir: str, train_step: tf.Variable, agent,
               experience_dataset_fn: Callable[[], tf.data.Dataset],
               triggers: Sequence[Callable[[int], Any]] = (), summary_interval: int = 1000,
               use_xla: bool = True, max_iterations_per_call: int = 16,
               priority_update_fn: Optional[Callable[[np.ndarray, np.ndarray], None]] = None,
               importance_exponent: float = 0.4, priority_epsilon: float = 1e-6,
               strategy: Optional[tf.distribute.Strategy] = None,
               summary_step: Optional[tf.Variable] = None,
               sample_fn: Optional[Callable[[int], Any]] = None, stamped_items: bool = False):
    self._train_step = train_step
    self._summary_step = train_step if summary_step is None else summary_step
    self._agent = agent
    self._dataset_fn = experience_dataset_fn
    self._sample_fn = sample_fn
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
    self._unrolled_gets = 0  # get_next calls traced on the iterator (see _UNROLLED_GETS)
    self._last_summary_step = int(self._summary_step.numpy())
    self.last_loss: Optional[LossInfo] = None
    # What the last sampled batches say of their items (see sample_stats); {} when unknown.
    self.last_sample_stats: Dict[str, tf.Tensor] = {}
    self._priority_update_fn = priority_update_fn
    self._stamped_items = stamped_items
    self._importance_exponent = importance_exponent
    self._priority_epsilon = priority_epsilon
    self._strategy = None if strategies.is_default(strategy) else strategy
    if self._strategy is not None and sample_fn is not None:
      raise ValueError("train.Experiment.replay = 'local' runs under the default strategy only; "
                       "use replay = 'reverb' with strategy = 'mirrored'")
    if self._strategy is not None:
      self._init_distributed()

  @property
  def train_step_numpy(self) -> int:
    return int(self._train_step.numpy())

  @property
  def summary_step_numpy(self) -> int:
    return int(self._summary_step.numpy())

  @property
  def summary_writer(self):
    return self._writer

  def _train_many_impl(self, experiences, count, weights=None):
    """Trains on experiences[0], ..., experiences[count - 1].

    `count` is a scalar tensor: the stacked experiences may be longer (a partial group
    padded to the learner's group size), so one compiled program serves every group.
    Returns the last LossInfo and, when `weights` are given (prioritized replay), the
    |TD errors| of every stacked step as [size, batch] (rows past `count` are zeros).
    """
    size = tf.shape(tf.nest.flatten(experiences)[0])[0]
    def train_at(i):
      experience = tf.nest.map_structure(lambda x: x[i], experiences)
      return (self._train_step_fn(experience) if weights is None
              else self._train_step_fn(experience, weights[i]))
    # The loop starts from zeros shaped like the step's outputs, so the step is compiled
    # once (a first step outside the loop would be a second copy for XLA to compile).
    first = tf.nest.map_structure(lambda x: x[0], experiences)
    step_fn = (self._train_step_fn.get_concrete_function(first) if weights is None
               else self._train_step_fn.get_concrete_function(first, weights[0]))
    outputs = tf.nest.flatten(step_fn.structured_outputs)
    if all(isinstance(t, tf.Tensor) and t.shape.is_fully_defined() for t in outputs):
      start, initial = 0, tf.nest.map_structure(lambda t: tf.zeros(t.shape, t.dtype),
                                                step_fn.structured_outputs)
    else:  # outputs of unknown shape: the first step runs before the loop
      start, initial = 1, train_at(0)
    if weights is None:
      _, last = tf.while_loop(lambda i, _: i < count, lambda i, _: (i + 1, train_at(i)),
                              (tf.constant(start), initial))
      return last, ()
    errors = tf.TensorArray(tf.float32, size=size)
    if start:
      errors = errors.write(0, tf.abs(initial.extra.td_error))
    def body(i, _, errors):
      loss_info = train_at(i)
      return i + 1, loss_info, errors.write(i, tf.abs(loss_info.extra.td_error))
    def pad(i, errors):
      return i + 1, errors.write(i, tf.zeros_like(weights[0], tf.float32))
    i, last, errors = tf.while_loop(lambda i, *_: i < count, body,
                                    (tf.constant(start), initial, errors))
    _, errors = tf.while_loop(lambda i, _: i < size, pad, (i, errors))
    return last, errors.stack()

  def _padded(self, stacked, count: int):
    """`stacked` (`count` steps) padded with zeros to the group size, and the count."""
    pad = self._max_per_call - count
    if pad <= 0 or not all(x.shape[1:].is_fully_defined() for x in tf.nest.flatten(stacked)
                           if isinstance(x, tf.Tensor)):
      return stacked, tf.constant(count)  # (a group of unknown shape compiles on its own)
    if isinstance(tf.nest.flatten(stacked)[0], np.ndarray):
      padded = tf.nest.map_structure(
          lambda x: np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)]), stacked)
    else:
      padded = tf.nest.map_structure(
          lambda x: tf.concat([x, tf.zeros((pad,) + tuple(x.shape[1:]), x.dtype)], 0), stacked)
    return padded, tf.constant(count)

  def _run_fn(self, count: int) -> Callable:
    if count not in self._run_fns:
      unrolled = self._unrolled_gets + count <= _UNROLLED_GETS
      self._unrolled_gets += count if unrolled else 1
      read = _unrolled_elements if unrolled else _next_elements
      def run(iterator):
        elements = read(iterator, count)
        stacked, info = elements if self._strip_info else (elements, ())
        stats = (sample_stats(info, self._priority_update_fn is not None,
                              self._train_step if self._stamped_items else None)
                 if info else {})
        if self._priority_update_fn is None:
          loss_info, _ = self._train_many(*self._padded(stacked, count))
          return loss_info, (), (), stats
        weights = importance_weights(info.probability, info.table_size,
                                     self._importance_exponent)
        padded, padded_count = self._padded((stacked, weights), count)
        loss_info, td_errors = self._train_many(padded[0], padded_count, padded[1])
        return loss_info, info.key, td_errors[:count], stats
      self._run_fns[count] = tf.function(run, autograph=False)
    return self._run_fns[count]

  # ---- under a non-default tf.distribute strategy -----------------------------------

  def _init_distributed(self) -> None:
    """Checks what the strategy cannot do and splits the dataset between the replicas."""
    strategy = self._strategy
    name = type(strategy).__name__
    replicas = strategy.num_replicas_in_sync
    if self._priority_update_fn is not None:
      raise ValueError(f"prioritized replay is not supported under {name}: use "
                       "replay.make_table.sampler = 'uniform', or train.Experiment.strategy = "
                       "'default'")
    dataset = self._dataset_fn()
    self._strip_info = _has_sample_info(dataset.element_spec)
    experience_spec = dataset.element_spec[0] if self._strip_info else dataset.element_spec
    batch_size = tf.nest.flatten(experience_spec)[0].shape[0]
    if batch_size is not None and batch_size % replicas:
      raise ValueError(f"batch_size={batch_size} is not divisible by the {replicas} replicas "
                       f"of {name}: each replica trains on batch_size / num_replicas examples; "
                       f"set train.Experiment.batch_size to a multiple of {replicas}")
    self._distributed_dataset = strategy.experimental_distribute_dataset(dataset)
    self._distributed_run = tf.function(self._distributed_run_impl, autograph=False)

  def _distributed_step(self, iterator) -> LossInfo:
    """One train step on every replica; the loss averaged, per-example extras joined."""
    def replica_step(element):
      return self._agent.train(element[0] if self._strip_info else element)
    per_replica = self._strategy.run(replica_step, args=(next(iterator),))
    def merge(value):
      parts = self._strategy.experimental_local_results(value)
      if parts[0].shape.rank == 0:
        return self._strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
      return tf.concat(parts, axis=0)
    return tf.nest.map_structure(merge, per_replica)

  def _distributed_run_impl(self, iterator, count: tf.Tensor) -> LossInfo:
    """`count` (>= 1) distributed train steps; returns the last LossInfo."""
    first = self._distributed_step(iterator)
    _, last = tf.while_loop(lambda i, _: i < count,
                            lambda i, _: (i + 1, self._distributed_step(iterator)),
                            (tf.constant(1), first))
    return last

  # ---- running ---------------------------------------------------------------------

  def _ensure_iterator(self) -> None:
    if self._iterator is None and self._strategy is not None:
      self._iterator = iter(self._distributed_dataset)
    if self._iterator is None:
      dataset = self._dataset_fn()
      spec = dataset.element_spec
      self._strip_info = _has_sample_info(spec)
      if self._priority_update_fn is not None and not self._strip_info:
        raise ValueError("prioritized replay needs a dataset of (experience, reverb.SampleInfo) "
                         f"pairs to know the sampled keys; got element_spec {spec}")
      self._iterator = iter(dataset)

  def run(self, iterations: int = 1) -> LossInfo:
    """Runs `iterations` train steps, then the triggers; returns the last LossInfo."""
    self.train(iterations)
    self.after_train()
    return self.last_loss

  def sample(self, iterations: int) -> Optional[list]:
    """The batches of `iterations` train steps, drawn now from an in-process replay (one
    stacked group per call `train` will make); None when the learner reads a dataset."""
    if self._sample_fn is None:
      return None
    counts = [min(self._max_per_call, iterations - start)
              for start in range(0, iterations, self._max_per_call)]
    return [self._sample_fn(count) for count in counts]

  def train(self, iterations: int = 1, batches: Optional[list] = None) -> LossInfo:
    """Runs `iterations` train steps without summaries or triggers (see after_train).

    `batches`: what `sample(iterations)` returned, when the caller sampled ahead (an
    in-process replay that a collecting thread writes to while these steps train)."""
    if self._sample_fn is not None:
      for group in self.sample(iterations) if batches is None else batches:
        count = tf.nest.flatten(group)[0].shape[0]
        self.last_loss, _ = self._train_many(*self._padded(group, count))
      return self.last_loss
    remaining = iterations
    self._ensure_iterator()
    while remaining > 0 and self._strategy is not None:
      count = min(remaining, self._max_per_call)
      self.last_loss = self._distributed_run(self._iterator, tf.constant(count))
      remaining -= count
    while remaining > 0:
      count = min(remaining, self._max_per_call)
      self.last_loss, keys, td_errors, stats = self._run_fn(count)(self._iterator)
      self.last_sample_stats = stats
      if self._priority_update_fn is not None:
        self._priority_update_fn(keys.numpy().reshape(-1),
                                 td_errors.numpy().reshape(-1) + self._priority_epsilon)
      remaining -= count
    return self.last_loss

  def after_train(self) -> None:
    """Writes loss summaries when an interval was crossed, then runs the triggers."""
    if (self.summary_step_numpy // self._summary_interval >
        self._last_summary_step // self._summary_interval):
      self.write_loss_summaries()
    for trigger in self.triggers:
      trigger(self.train_step_numpy)

  def write_loss_summaries(self) -> None:
    if self.last_loss is None:
      return
    step = self.summary_step_numpy
    self._last_summary_step = step
    with self._writer.as_default(step=step):
      tf.summary.scalar("losses/loss", self.last_loss.loss)
      extra = self.last_loss.extra
      for name, value in (extra._asdict().items() if hasattr(extra, "_asdict") else ()):
        tf.summary.scalar(f"losses/{name}", tf.reduce_mean(value))
    self._writer.flush()

  def write_scalars(self, prefix: str, values: Dict[str, float]) -> None:
    """Writes `values` as `prefix/name` summaries at the summary step."""
    if not values:
      return
    with self._writer.as_default(step=self.summary_step_numpy):
      for name, value in values.items():
        tf.summary.scalar(f"{prefix}/{name}", value)
    self._writer.flush()

  @staticmethod
  def loss_value(loss_info: Optional[LossInfo]) -> Dict[str, float]:
    """The progress line's losses: the total ('loss'), then each part the agent names
    `*_loss` in its LossInfo.extra (critic_loss, actor_loss...), without the suffix."""
    if loss_info is None:
      return {"loss": float("nan")}
    values = {"loss": float(np.asarray(loss_info.loss))}
    extra = loss_info.extra
    for name, value in (extra._asdict().items() if hasattr(extra, "_asdict") else ()):
      if name.endswith("_loss") and np.size(value) == 1:
        values[name[:-len("_loss")]] = float(np.asarray(value))
    return values
