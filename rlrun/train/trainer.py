"""Trainer: the learner side of every run, composed from the pieces a process has.

A single-process run gives it a collector and an evaluator; the distributed learner
gives it neither and a `publish` callback instead. Nothing is switched off: what a
process does not have, the Trainer does not do.
"""

import concurrent.futures
import logging
import os
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from rlrun.builders.builder import LoopKind
from rlrun.replay_buffers.diagnostics import ReplayDiagnostics, reverb_counters
from rlrun.replay_buffers.reverb_replay_buffer import ReverbReplayBuffer
from rlrun.train import evaluation, policy_snapshots
from rlrun.train.checkpointer import Checkpointer
from rlrun.train.collector import Collector
from rlrun.train.interrupts import StopRequest
from rlrun.train.learner import Learner
from rlrun.train.loop import Loop
from rlrun.train.parts import AgentParts
from rlrun.train.progress import Progress
from rlrun.train.triggers import IntervalTrigger, PolicySavedModelTrigger, StepPerSecondLogTrigger


def is_prioritized(replay_buffer, table_name: str) -> bool:
  info = replay_buffer.py_client.server_info()[table_name]
  return info.sampler_options.WhichOneof("distribution") == "prioritized"


def _replay_diagnostics(replay_buffer, table_name: str,
                        local: bool) -> Optional[ReplayDiagnostics]:
  """The replay/ summaries of the table (None for a replay that keeps no counters)."""
  if not local:
    return ReplayDiagnostics(lambda: reverb_counters(replay_buffer.py_client, table_name))
  counters = getattr(replay_buffer, "counters", None)
  return ReplayDiagnostics(counters) if counters is not None else None


class Trainer:
  """Trains `parts.agent` from `replay_buffer`, checkpoints, exports policies, runs the loop.

  Args:
    root_dir: the run directory.
    parts: the process's AgentParts.
    replay_buffer: a ReverbReplayBuffer on the builder's table (local or remote).
    checkpointer: the run's Checkpointer on <root>/checkpoints (its selection made
      before the replay server started, so the replay loaded pairs with the agent).
    checkpoint_replay: writes a replay checkpoint; returns its directory (or (directory,
      {table: items} it holds)), which the checkpointer archives beside the agent's.
    collector: collects each group's steps before training (None: other processes do).
    evaluator: evaluates on eval_interval multiples (None: another process does).
    publish: called after every group and at the end (e.g. push weights to actors).
  """

  def __init__(self, root_dir: str, parts: AgentParts, replay_buffer, checkpointer: Checkpointer,
               checkpoint_replay: Callable[[], Optional[str]], collector: Optional[Collector] = None,
               evaluator: Optional[evaluation.Evaluator] = None,
               publish: Callable[[], None] = lambda: None):
    settings, builder = parts.settings, parts.builder
    self.root_dir = root_dir
    self.parts = parts
    self.settings = settings
    self.replay_buffer = replay_buffer
    self.checkpoint_replay = checkpoint_replay
    self.collector = collector
    self.evaluator = evaluator
    self.publish = publish
    self.train_steps_per_iteration = builder.train_steps_per_iteration(settings)
    # An on-policy loop trains one rollout per call.
    max_group = 1 if builder.loop_kind is LoopKind.ON_POLICY else settings.iterations_per_call
    # An in-process replay (train.Experiment.replay = 'local'): sampled in this thread.
    local = not isinstance(replay_buffer, ReverbReplayBuffer)
    prioritized = not local and is_prioritized(replay_buffer, builder.table_name)
    # Tables that ignore priorities carry the train step each item was written at in it
    # (rlrun's writers all stamp: ReverbAddTrajectoryObserver, RolloutWriter).
    self.stamped_items = (not local and not prioritized and
                          (collector is None or hasattr(collector.observer, "stamp")))
    self.learner = Learner(
        root_dir, parts.train_step, parts.agent,
        None if local else lambda: builder.make_dataset(replay_buffer, parts.agent, settings),
        sample_fn=builder.make_sampler(replay_buffer, parts.agent, settings) if local else None,
        summary_interval=settings.summary_interval, use_xla=settings.use_xla,
        max_iterations_per_call=max_group * self.train_steps_per_iteration,
        priority_update_fn=replay_buffer.update_priorities if prioritized else None,
        importance_exponent=settings.importance_exponent, strategy=parts.strategy,
        summary_step=parts.iteration, stamped_items=self.stamped_items)
    self.replay_diagnostics = _replay_diagnostics(replay_buffer, builder.table_name, local)
    self.checkpointer = checkpointer
    self.policy_trigger = PolicySavedModelTrigger(os.path.join(root_dir, "policies"),
                                                  parts.policy_exports(),
                                                  settings.policy_save_interval,
                                                  snapshots=settings.policy_snapshots)
    self._best_policy: Optional[policy_snapshots.BestPolicy] = None
    self.rate_trigger = StepPerSecondLogTrigger(parts.iteration, settings.summary_interval,
                                                self.learner.summary_writer)
    triggers = [self.rate_trigger, IntervalTrigger(settings.summary_interval, self.write_summaries)]
    if evaluator is not None:
      self.eval_trigger = IntervalTrigger(settings.eval_interval or settings.num_iterations,
                                          self.evaluate)
      triggers.append(self.eval_trigger)
    self.checkpoint_trigger = IntervalTrigger(settings.checkpoint_interval, self.save_checkpoint)
    triggers += [self.policy_trigger, self.checkpoint_trigger]
    self.loop = Loop(settings.num_iterations, max_group, triggers, progress=None)
    self._overlap: Optional[concurrent.futures.ThreadPoolExecutor] = None
    self._saved_at: Optional[int] = None
    self.resumed = False  # restore() found a checkpoint
    self._warned_remote_replay = False

  @property
  def iteration(self) -> int:
    return int(self.parts.iteration.numpy())

  # ---- state -------------------------------------------------------------------------

  def save_checkpoint(self) -> None:
    """The replay checkpoint, then the agent's with the side-state (metrics, RNG, evals)."""
    state: Dict[str, Any] = {"iteration": self.iteration,
                             "train_step": int(self.parts.train_step.numpy())}
    if self.collector is not None:
      state.update(self.collector.state())
    if self.evaluator is not None:
      state["eval_results"] = self.evaluator.results
    replay = self.checkpoint_replay()
    path, items = replay if isinstance(replay, tuple) else (replay, None)
    if path is not None and not os.path.isdir(path):
      # A replay server on another machine, without this run dir shared: the agent's
      # checkpoint is kept on its own (a resume there starts from the server's replay).
      if not self._warned_remote_replay:
        self._warned_remote_replay = True
        logging.warning("the replay checkpoint %s is not visible here (is the run dir shared "
                        "with the replay server?); checkpoints keep the agent only", path)
      path, items = None, None
    self.checkpointer.save(self.iteration, state, replay_source=path, replay_items=items)
    self._saved_at = self.iteration

  def restore(self) -> int:
    """Restores the newest checkpoint, if any; returns the iteration to start from."""
    number, state = self.checkpointer.restore()
    self.resumed = number is not None
    if number is None:
      return 0
    if self.collector is not None:
      self.collector.restore_state(state)
    if self.evaluator is not None:
      self.evaluator.results = state.get("eval_results", [])
    iteration = self.parts.sync_iteration()
    self.loop.reset(iteration)
    return iteration

  # ---- the pieces of the loop --------------------------------------------------------

  def evaluate(self) -> None:
    extra = {} if self.collector is None else {"env_steps": self.collector.env_steps}
    earlier = list(self.evaluator.results)
    record = self.evaluator.run(self.iteration, train_step=int(self.parts.train_step.numpy()),
                                **extra)
    savers = self.policy_trigger.savers
    if self.settings.keep_best_policy and "policy" in savers:
      if self._best_policy is None:
        self._best_policy = policy_snapshots.BestPolicy(
            Path(self.root_dir) / "policies", savers["policy"], earlier)
      self._best_policy.offer(record)

  def write_summaries(self) -> None:
    self.learner.write_loss_summaries()
    if self.replay_diagnostics is not None:
      values = self.replay_diagnostics.measure()
      values.update({k: float(v) for k, v in self.learner.last_sample_stats.items()})
      self.learner.write_scalars("replay", values)
    if self.collector is not None:
      self.collector.write_summaries()

  def stamp(self) -> None:
    """Items written from now on carry the current train step (see stamped_items)."""
    stamp = getattr(self.collector.observer, "stamp", None)
    if self.stamped_items and stamp is not None:
      stamp(self.learner.train_step_numpy)

  def _initial_collect(self, stop: StopRequest) -> None:
    settings = self.settings
    self.stamp()
    if self.collector.initial_steps == 0 and self.replay_buffer.num_frames() > 0:
      return  # a run checkpointed before initial_steps was recorded: it collected them
    remaining = settings.initial_collect_steps - self.collector.initial_steps
    if remaining > 0:
      self.collector.initial_collect(remaining, seed=settings.seed,
                                     should_stop=lambda: stop.requested)
      self.collector.observer.flush()

  def run_group(self, count: int):
    """`count` iterations: collect (when this process does), train, publish."""
    steps = count * self.settings.collect_steps_per_iteration
    train_steps = count * self.train_steps_per_iteration
    if self.collector is not None:
      self.stamp()
    if self.collector is None:
      loss = self.learner.train(train_steps)
    elif not self.settings.overlap_collection:
      self.collector.run(steps)
      loss = self.learner.train(train_steps)
    else:
      if self._overlap is None:
        self._overlap = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="collect")
      # Weights are copied before training starts: the actor never sees a half-updated set.
      self.collector.pull_weights()
      # An in-process replay is sampled before the collecting thread writes to it.
      batches = self.learner.sample(train_steps)
      collecting = self._overlap.submit(self.collector.run, steps, False)
      try:
        loss = self.learner.train(train_steps, batches)
      finally:
        collecting.result()
    self.publish()
    return loss

  def run(self, progress: Optional[Progress] = None, start: Optional[int] = None) -> str:
    """Trains to num_iterations; returns 'finished', 'already finished' or 'interrupted by ...'.

    `start` is the iteration `restore()` returned, when the caller restored already.
    SIGINT / SIGTERM at any point (initial collection and the first evaluation
    included) end with a checkpoint of everything so far.
    """
    settings = self.settings
    start = self.restore() if start is None else start
    if start >= settings.num_iterations:
      return "already finished"
    self.publish()
    with StopRequest() as stop:
      restored_items = self.replay_buffer.num_frames()
      progress = progress or Progress(settings.num_iterations, start, settings.log_interval)
      self.loop.progress = progress
      if self.evaluator is not None:
        self.evaluator.progress = progress
      for note in self.checkpointer.notes:
        progress.message(note)
      if self.resumed:
        progress.message(f"resuming from step {start} of {settings.num_iterations} "
                         f"({restored_items} replay items restored)")
      if self.collector is not None:
        self._initial_collect(stop)
      if (not stop.requested and start == 0 and settings.eval_interval and
          self.evaluator is not None and not self.evaluator.results):
        self.evaluate()
      reached = self.loop.run(start, self.run_group, self.parts.sync_iteration, stop,
                              Learner.loss_value)
      progress.close()
      # A stop request that came during the last group ends a complete run: it finishes as one
      # (a rerun would find the run finished and could never add its final evaluation).
      interrupted = stop.requested and reached < settings.num_iterations
      self.finish(interrupted=interrupted)
      return f"interrupted by {stop.signal_name}" if interrupted else "finished"

  def finish(self, interrupted: bool) -> None:
    """Final evaluation (when complete), summaries, checkpoint and policies."""
    iteration = self.parts.sync_iteration()
    if (not interrupted and self.evaluator is not None and
        self.evaluator.last_step != iteration):
      self.evaluate()
    self.write_summaries()
    if self._saved_at != iteration:
      self.save_checkpoint()
    if self.policy_trigger.saved_at != iteration:
      self.policy_trigger.save(iteration)
    self.publish()

  def close(self) -> None:
    if self._overlap is not None:
      self._overlap.shutdown(wait=True)
