"""Experiment: a gin-configured collect / train / eval / checkpoint loop for any agent.

The gin file names the pieces (`env_fn`, `agent_fn`, the replay table) and the loop's
numbers; `Experiment(root_dir).run()` builds them, resumes from the run directory if
it holds a checkpoint, and trains to `num_iterations`.
"""

import concurrent.futures
import logging
import os
import time
from typing import Any, Callable, Dict, List, Optional

import gin
import tensorflow as tf

from rlrun.metrics import py_metrics
from rlrun.policies.greedy_policy import GreedyPolicy
from rlrun.policies.policy_saver import PolicySaver
from rlrun.policies.py_tf_eager_policy import PyTFEagerPolicy
from rlrun.policies.random_py_policy import RandomPyPolicy
from rlrun.replay_buffers import reverb_utils
from rlrun.replay_buffers.reverb_replay_buffer import ReverbReplayBuffer
from rlrun.specs import tensor_spec
from rlrun.train import evaluation, strategies
from rlrun.train.actor import Actor
from rlrun.train.checkpointer import Checkpointer
from rlrun.train.interrupts import StopRequest
from rlrun.train.learner import Learner
from rlrun.train.progress import Progress
from rlrun.train.triggers import IntervalTrigger, PolicySavedModelTrigger, StepPerSecondLogTrigger
from rlrun.utils.summaries import LazySummaryWriter

TABLE_NAME = "uniform_table"
# A MinSize limiter's max_diff: no bound on inserts ahead of samples.
_UNLIMITED = 1e300


def fast_py_policy(tf_policy, use_numpy: bool = True, batch_time_steps: bool = True):
  """The cheapest numpy-callable form of a TF policy: a numpy mirror if one exists.

  Numpy mirrors accept batched and unbatched time steps; the tf.function fallback
  adds a batch dim of 1 only when `batch_time_steps`.
  """
  fast = tf_policy.as_numpy_policy() if use_numpy else None
  if fast is not None:
    return fast
  return PyTFEagerPolicy(tf_policy, use_tf_function=True, batch_time_steps=batch_time_steps)


def collect_metrics() -> List[py_metrics.PyStepMetric]:
  """The metrics every collecting actor keeps."""
  return [py_metrics.EnvironmentSteps(), py_metrics.NumberOfEpisodes(),
          py_metrics.AverageReturnMetric(), py_metrics.AverageEpisodeLengthMetric()]


@gin.configurable(module="train", denylist=["root_dir"])
class Experiment:
  """Builds and runs one training run in `root_dir`.

  Args:
    root_dir: the run directory.
    env_fn: builds a PyEnvironment (e.g. @suite_gym.load with its name bound).
    agent_fn: (time_step_spec, action_spec, train_step_counter) -> TFAgent.
    num_iterations: train until the train step reaches this.
    initial_collect_steps: random-policy steps collected before training.
    collect_steps_per_iteration: environment steps per iteration.
    train_steps_per_iteration: train steps per iteration.
    batch_size: experience batch size.
    iterations_per_call: iterations grouped into one actor run and one learner call.
      The collect policy's weights are refreshed once per group; 1 reproduces the
      strict collect-one / train-one interleaving.
    eval_interval: train steps between evaluations (0: only at the end).
    num_eval_episodes: episodes per evaluation.
    eval_parallel_envs: evaluation environments stepped in lockstep.
    log_interval: steps between progress lines when stdout is not a terminal.
    summary_interval: train steps between TensorBoard summaries.
    checkpoint_interval: train steps between checkpoints (agent and replay).
    policy_save_interval: train steps between SavedModel exports.
    use_xla: XLA-compile the train loop.
    importance_exponent: beta of the importance weights when the replay table is
      prioritized (replay.make_table.sampler = 'prioritized'); priorities are then
      updated from the agent's TD errors after every learner call.
    numpy_actor: act with a numpy mirror of the policy network where possible.
    overlap_collection: collect the next group of iterations in a thread while the
      learner trains on the replay so far (worth it when environment steps are slow
      and the train step leaves a core idle; the collect policy is then up to one
      more group of train steps old).
    seed: seeds environments, TF and numpy.
    strategy: the tf.distribute strategy the agent is built and trained under, by
      name (see train.make_strategy): 'default' (one device) or 'mirrored' (one
      replica per visible GPU, each training on batch_size / num_replicas items;
      `rlrun train --gpu`).
  """

  def __init__(self, root_dir: str, env_fn: Callable[..., Any] = gin.REQUIRED,
               agent_fn: Callable[..., Any] = gin.REQUIRED, num_iterations: int = 20000,
               initial_collect_steps: int = 100, collect_steps_per_iteration: int = 1,
               train_steps_per_iteration: int = 1, batch_size: int = 64,
               iterations_per_call: int = 8, eval_interval: int = 1000,
               num_eval_episodes: int = 10, eval_parallel_envs: int = 10,
               log_interval: int = 200, summary_interval: int = 1000,
               checkpoint_interval: int = 5000, policy_save_interval: int = 5000,
               use_xla: bool = True, numpy_actor: bool = True, seed: int = 0,
               importance_exponent: float = 0.4, overlap_collection: bool = False,
               strategy: str = "default"):
    for name, value in (("num_iterations", num_iterations), ("batch_size", batch_size),
                        ("iterations_per_call", iterations_per_call),
                        ("collect_steps_per_iteration", collect_steps_per_iteration),
                        ("num_eval_episodes", num_eval_episodes),
                        ("summary_interval", summary_interval),
                        ("checkpoint_interval", checkpoint_interval),
                        ("policy_save_interval", policy_save_interval)):
      if value < 1:
        raise ValueError(f"train.Experiment.{name} must be >= 1, got {value}")
    self.root_dir = root_dir
    self.env_fn, self.agent_fn = env_fn, agent_fn
    self.num_iterations = num_iterations
    self.initial_collect_steps = initial_collect_steps
    self.collect_steps_per_iteration = collect_steps_per_iteration
    self.train_steps_per_iteration = train_steps_per_iteration
    self.batch_size = batch_size
    self.iterations_per_call = iterations_per_call
    self.eval_interval = eval_interval
    self.num_eval_episodes = num_eval_episodes
    self.eval_parallel_envs = max(1, min(eval_parallel_envs, num_eval_episodes))
    self.log_interval = log_interval
    self.summary_interval = summary_interval
    self.checkpoint_interval = checkpoint_interval
    self.policy_save_interval = policy_save_interval
    self.use_xla = use_xla
    self.numpy_actor = numpy_actor
    self.seed = seed
    self.importance_exponent = importance_exponent
    self.strategy_name = strategy
    self.overlap_collection = overlap_collection
    self._collector: Optional[concurrent.futures.ThreadPoolExecutor] = None
    self.eval_results: List[Dict[str, float]] = []

  # ---- construction ------------------------------------------------------------------

  def make_env(self, index: int = 0):
    """An environment seeded with seed + index (index 0: collection)."""
    env = self.env_fn()
    env.seed(self.seed + index)
    return env

  def build(self) -> None:
    """Creates every component; gin bindings are consumed here."""
    self.build_agent()
    self.eval_envs = [self.make_env(1000 + i) for i in range(self.eval_parallel_envs)]
    self._build_replay()
    self.collect_policy = fast_py_policy(self.agent.collect_policy, self.numpy_actor)
    self.eval_policy = fast_py_policy(self.agent.policy, self.numpy_actor, batch_time_steps=False)
    self.metrics = collect_metrics()
    self.actor = Actor(self.collect_env, self.collect_policy, self.train_step,
                       steps_per_run=self.collect_steps_per_iteration, observers=[self.observer],
                       metrics=self.metrics, summary_dir=os.path.join(self.root_dir, "train"),
                       summary_interval=self.summary_interval,
                       variable_client=self.collect_policy if hasattr(self.collect_policy, "update")
                       else None)
    self.build_learner()
    self.eval_writer = LazySummaryWriter(os.path.join(self.root_dir, "eval"))
    self._build_triggers()

  def build_agent(self, env_index: int = 0, strategy: Optional[str] = None) -> None:
    """The collect environment (seeded with seed + env_index), the train step and the agent.

    `strategy` overrides the configured one (processes that only act use 'default').
    """
    tf.random.set_seed(self.seed)
    self.strategy = strategies.make_strategy(strategy or self.strategy_name)
    self.collect_env = self.make_env(env_index)
    time_step_spec = tensor_spec.from_spec(self.collect_env.time_step_spec())
    action_spec = tensor_spec.from_spec(self.collect_env.action_spec())
    with self.strategy.scope():
      # Every replica increments the step; only the first replica's increment counts.
      self.train_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="train_step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
      self.agent = self.agent_fn(time_step_spec, action_spec, train_step_counter=self.train_step)
      self.agent.initialize()

  def replay_table(self, **kwargs) -> Any:
    """The replay table of this config (replay.make_table's gin bindings, then kwargs)."""
    return reverb_utils.make_table(TABLE_NAME, self.agent.collect_data_spec,
                                   self.agent.train_sequence_length, **kwargs)

  def build_learner(self) -> None:
    """The Learner and the Checkpointer, on `self.replay_buffer`."""
    table_info = self.replay_buffer.py_client.server_info()[TABLE_NAME]
    prioritized = table_info.sampler_options.WhichOneof("distribution") == "prioritized"
    self.learner = Learner(self.root_dir, self.train_step, self.agent, self._dataset,
                           summary_interval=self.summary_interval, use_xla=self.use_xla,
                           max_iterations_per_call=self.iterations_per_call *
                           self.train_steps_per_iteration,
                           priority_update_fn=self.replay_buffer.update_priorities
                           if prioritized else None,
                           importance_exponent=self.importance_exponent,
                           strategy=self.strategy)
    self.checkpointer = Checkpointer(os.path.join(self.root_dir, "checkpoints"),
                                     agent=self.agent, train_step=self.train_step)

  def _build_replay(self) -> None:
    sequence_length = self.agent.train_sequence_length
    table = self.replay_table()
    if table.info.rate_limiter_info.max_diff < _UNLIMITED:
      # One thread alternates collecting and training: a ratio limiter would block the
      # inserts until samples that only come after them. The loop keeps the ratio.
      logging.info("replay.make_table.rate_limiter applies to distributed training "
                   "(--actors N); this single-process run keeps the ratio by its loop")
      table = self.replay_table(rate_limiter=None)
    self.replay_server = reverb_utils.ReplayServer(
        [table], checkpoint_dir=os.path.join(self.root_dir, "replay"))
    self.replay_buffer = ReverbReplayBuffer(self.agent.collect_data_spec, TABLE_NAME,
                                            sequence_length, local_server=self.replay_server)
    self.observer = reverb_utils.ReverbAddTrajectoryObserver(
        self.replay_buffer.py_client, TABLE_NAME, sequence_length,
        codec=self.replay_buffer.codec)

  def _dataset(self) -> tf.data.Dataset:
    # Room for two learner calls' worth of batches, so sampling keeps going while the
    # actor collects instead of stalling on a full buffer.
    prefetch = 2 * self.iterations_per_call * self.train_steps_per_iteration + 2
    return self.replay_buffer.as_dataset(sample_batch_size=self.batch_size,
                                         num_steps=self.agent.train_sequence_length,
                                         num_workers=2).prefetch(prefetch)

  def _build_triggers(self) -> None:
    savers = {"policy": PolicySaver(self.agent.policy, self.train_step, self._policy_metadata()),
              "collect_policy": PolicySaver(self.agent.collect_policy, self.train_step,
                                            self._policy_metadata())}
    if not isinstance(self.agent.policy, GreedyPolicy):
      savers["greedy_policy"] = PolicySaver(GreedyPolicy(self.agent.policy), self.train_step,
                                            self._policy_metadata())
    self.policy_trigger = PolicySavedModelTrigger(os.path.join(self.root_dir, "policies"), savers,
                                                  self.policy_save_interval)
    self.checkpoint_trigger = IntervalTrigger(self.checkpoint_interval, self.save_checkpoint)
    self.eval_trigger = IntervalTrigger(self.eval_interval or self.num_iterations, self.run_eval)
    self.rate_trigger = StepPerSecondLogTrigger(self.train_step, self.summary_interval,
                                                self.learner.summary_writer)
    self.learner.triggers = [self.rate_trigger, self.eval_trigger, self.policy_trigger,
                             self.checkpoint_trigger]

  def _policy_metadata(self) -> Dict[str, Any]:
    gym_env = getattr(self.collect_env, "gym", None)
    spec = getattr(gym_env, "spec", None)
    return {"env_name": getattr(spec, "id", None)}

  # ---- state -------------------------------------------------------------------------

  def save_checkpoint(self) -> None:
    step = int(self.train_step.numpy())
    self.observer.flush()
    self.replay_server.checkpoint()
    state = {"metrics": {m.name: m.get_state() for m in self.metrics},
             "eval_results": self.eval_results}
    rng = getattr(self.collect_policy, "rng", None)
    if rng is not None:
      state["collect_rng"] = rng.bit_generator.state
    self.checkpointer.save(step, state)

  def restore(self) -> int:
    step, state = self.checkpointer.restore()
    if step is None:
      return 0
    for metric in self.metrics:
      if metric.name in state.get("metrics", {}):
        metric.set_state(state["metrics"][metric.name])
    self.eval_results = state.get("eval_results", [])
    rng = getattr(self.collect_policy, "rng", None)
    if rng is not None and "collect_rng" in state:
      rng.bit_generator.state = state["collect_rng"]
    for trigger in self.learner.triggers:
      trigger.reset(step)
    return step

  # ---- the loop ----------------------------------------------------------------------

  def run_eval(self) -> Dict[str, float]:
    started = time.perf_counter()
    if hasattr(self.eval_policy, "update"):
      self.eval_policy.update()
    result = evaluation.evaluate(self.eval_envs, self.eval_policy, self.num_eval_episodes)
    result["eval_seconds"] = time.perf_counter() - started
    step = int(self.train_step.numpy())
    with self.eval_writer.as_default(step=step):
      tf.summary.scalar("metrics/AverageReturn", result["AverageReturn"])
      tf.summary.scalar("metrics/AverageEpisodeLength", result["AverageEpisodeLength"])
    self.eval_writer.flush()
    record = dict(result, step=step, wall_time=time.time())
    self.eval_results.append(record)
    evaluation.append_result(self.root_dir, record)
    if self.progress is not None:
      self.progress.eval_return = result["AverageReturn"]
      self.progress.message(evaluation.describe(record))
    return result

  def _initial_collect(self) -> None:
    if self.initial_collect_steps <= 0 or self.replay_buffer.num_frames() > 0:
      return
    random_policy = RandomPyPolicy(self.collect_env.time_step_spec(),
                                   self.collect_env.action_spec(), seed=self.seed)
    Actor(self.collect_env, random_policy, self.train_step,
          steps_per_run=self.initial_collect_steps, observers=[self.observer]).run()
    self.observer.flush()

  def _next_chunk(self, step: int) -> int:
    """Iterations until the next interval boundary (so triggers fire on multiples)."""
    limit = min(self.iterations_per_call, self.num_iterations - step)
    for interval in (self.eval_interval, self.checkpoint_interval, self.policy_save_interval,
                     self.summary_interval):
      if interval:
        limit = min(limit, (step // interval + 1) * interval - step)
    return max(1, limit)

  def run(self, progress: Optional[Progress] = None, start: Optional[int] = None) -> str:
    """Trains to num_iterations; returns 'finished', 'already finished' or 'interrupted ...'.

    `start` is the step `restore()` returned, when the caller restored already.
    """
    self.progress = None
    start = self.restore() if start is None else start
    if start >= self.num_iterations:
      return "already finished"
    restored_items = self.replay_buffer.num_frames()
    self._initial_collect()
    self.progress = progress or Progress(self.num_iterations, start, self.log_interval)
    if start > 0:
      self.progress.message(f"resuming from step {start} of {self.num_iterations} "
                            f"({restored_items} replay items restored)")
    if start == 0 and self.eval_interval:
      self.run_eval()
    step = start
    with StopRequest() as stop:
      while step < self.num_iterations and not stop.requested:
        chunk = self._next_chunk(step)
        loss = self._collect_and_train(chunk)
        step = int(self.train_step.numpy())
        self.progress.loss = Learner.loss_value(loss)
        self.progress.update(step)
      self.progress.close()
      self.finish(interrupted=stop.requested)
      return f"interrupted by {stop.signal_name}" if stop.requested else "finished"

  def _collect_and_train(self, chunk: int):
    """One group of iterations: collect, train, then the learner's triggers."""
    steps, iterations = (chunk * self.collect_steps_per_iteration,
                         chunk * self.train_steps_per_iteration)
    if not self.overlap_collection:
      self.actor.run(steps=steps)
      return self.learner.run(iterations=iterations)
    if self._collector is None:
      self._collector = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="collect")
    # Weights are copied before training starts, so the actor never sees a half-updated set.
    self.actor.pull_weights()
    collecting = self._collector.submit(self.actor.run, steps, False)
    try:
      loss = self.learner.train(iterations=iterations)
    finally:
      collecting.result()
    self.learner.after_train()
    return loss

  def finish(self, interrupted: bool) -> None:
    """Final checkpoint, policies and (when complete) evaluation."""
    step = int(self.train_step.numpy())
    if not interrupted and (not self.eval_results or self.eval_results[-1]["step"] != step):
      self.run_eval()
    self.learner.write_loss_summaries()
    self.actor.write_metric_summaries()
    self.save_checkpoint()
    self.policy_trigger.save()

  def close(self) -> None:
    if self._collector is not None:
      self._collector.shutdown(wait=True)
    for env in [getattr(self, "collect_env", None)] + list(getattr(self, "eval_envs", [])):
      if env is not None:
        env.close()
    if hasattr(self, "replay_server"):
      self.observer.close()
      self.replay_server.stop()
