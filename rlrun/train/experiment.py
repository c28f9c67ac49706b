"""Experiment: one single-process run, composed of the pieces every process shares.

`Experiment(root_dir).build()` makes the agent (AgentParts, from the config's
builder), an in-process Reverb server with the builder's table, a Collector writing
into it, an Evaluator and a Trainer; `run()` resumes from the run directory if it
holds a checkpoint and trains to `num_iterations`.
"""

import logging
import os
from typing import Any, Dict, List, Optional

from rlrun.builders.builder import TABLE_NAME  # noqa: F401 (re-exported)
from rlrun.errors import UserError
from rlrun.replay_buffers import local_replay, reverb_utils
from rlrun.train import evaluation
from rlrun.train.checkpointer import make_checkpointer, replay_server_start
from rlrun.train.collector import Collector
from rlrun.train.parts import (EVAL_ENV_OFFSET, AgentParts, collect_metrics,  # noqa: F401 (re-exported)
                               eval_py_policy)
from rlrun.train.settings import Settings
from rlrun.train.trainer import Trainer
from rlrun.utils.tf_threads import set_intra_op_threads

# The collect environment's saved state, beside a deterministic run's local replay.
COLLECTOR_FILE = "collector.pkl"
# A MinSize limiter's max_diff: no bound on inserts ahead of samples.
_UNLIMITED = 1e300


class Experiment:
  """Builds and runs one training run in `root_dir`.

  Args:
    root_dir: the run directory.
    settings: the run's settings (default: train.Experiment's gin bindings).
  """

  def __init__(self, root_dir: str, settings: Optional[Settings] = None):
    self.root_dir = root_dir
    self.settings = settings or Settings()
    self.parts: Optional[AgentParts] = None
    self.replay_server = None
    self.trainer: Optional[Trainer] = None

  # ---- construction ------------------------------------------------------------------

  def build(self) -> None:
    """Creates every component; gin bindings are consumed here (build_parts, then start)."""
    self.build_parts()
    self.start()

  def build_parts(self) -> None:
    """The agent, the replay table and the checkpoint to resume from; nothing on disk changes.

    Every gin binding is consumed here, so a config mistake found after this (an unused
    binding) stops the command before `start()` touches the run directory.
    """
    settings = self.settings
    # This process collects and trains: its thread split is set before its first op.
    set_intra_op_threads(settings.intra_op_threads, asked=not settings.threads_set_by_fast)
    self.parts = AgentParts.build(settings)
    builder, agent = self.parts.builder, self.parts.agent
    self._table = builder.make_table(agent)
    if self._table.info.rate_limiter_info.max_diff < _UNLIMITED:
      # One thread alternates collecting and training: a ratio limiter would block the
      # inserts until samples that only come after them. The loop keeps the ratio.
      logging.info("replay.make_table.rate_limiter applies to distributed training "
                   "(--actors N); this single-process run keeps the ratio by its loop")
      self._table = builder.make_table(agent, rate_limiter=None)
    # The checkpoint to resume from decides which replay the server loads.
    self._checkpointer = make_checkpointer(self.root_dir, self.parts)
    self._checkpointer.select()

  @property
  def min_size_to_sample(self) -> int:
    """Items the replay table must hold before it hands out a sample."""
    return int(self._table.info.rate_limiter_info.min_size_to_sample)

  def start(self) -> None:
    """The replay (loading the one paired with the checkpoint), collector, evaluator, trainer."""
    settings, checkpointer = self.settings, self._checkpointer
    builder, agent = self.parts.builder, self.parts.agent
    checkpointer.set_aside_skipped()
    selection = checkpointer.select()
    if settings.replay == "local":
      self.replay_buffer = builder.make_local_replay(agent, self._table, settings.seed)
      self.observer = builder.stacked_writer(agent, self.replay_buffer)
    else:
      self.replay_server = reverb_utils.ReplayServer(
          [self._table], checkpoint_dir=os.path.join(self.root_dir, "replay"),
          **replay_server_start(selection))
      self.replay_buffer = builder.make_replay_buffer(agent, local_server=self.replay_server)
      self.observer = builder.make_writer(self.replay_buffer.py_client, agent,
                                          packed=self.replay_buffer.codec is not None)
    self.collector = Collector(self.parts, self.observer, settings.collect_steps_per_iteration,
                               summary_dir=os.path.join(self.root_dir, "train"),
                               rng_seed=[settings.seed, 0])
    if settings.replay == "local" and selection is not None:
      self._load_local(selection.replay)
    if settings.deterministic:
      self.collector.snapshot()  # fails now, with the reason, if the environment cannot be saved
    self.evaluator = evaluation.Evaluator(
        self.root_dir, self.parts.eval_envs(),
        eval_py_policy(agent, settings),
        settings.num_eval_episodes,
        reseed=settings.seed + EVAL_ENV_OFFSET if settings.deterministic else None)
    self.trainer = Trainer(self.root_dir, self.parts, self.replay_buffer, checkpointer,
                           self._checkpoint_replay, collector=self.collector,
                           evaluator=self.evaluator)

  def _load_local(self, directory: Optional[str]) -> None:
    if directory is None or not local_replay.is_local(directory):
      raise UserError(f"the checkpoint's replay ({directory or 'none recorded'}) is not a local "
                      "replay; resume with the run's train.Experiment.replay = 'reverb'")
    self.replay_buffer.load(directory)
    snapshot = os.path.join(directory, COLLECTOR_FILE)
    if self.settings.deterministic and os.path.isfile(snapshot):
      with open(snapshot, "rb") as f:
        self.collector.restore_snapshot(f.read())
    else:
      # The environment starts a new episode: the saved partial one ends here.
      self.replay_buffer.reset()

  def _checkpoint_replay(self):
    if self.settings.replay != "local":
      self.observer.flush()
      # Nothing inserts while this process checkpoints: the table's size is the checkpoint's.
      return (self.replay_server.checkpoint(),
              {self.parts.builder.table_name: self.replay_buffer.num_frames()})
    live = os.path.join(self.root_dir, "replay", "local")
    self.replay_buffer.save(live)
    if self.settings.deterministic:
      tmp = os.path.join(live, f".{COLLECTOR_FILE}")
      with open(tmp, "wb") as f:
        f.write(self.collector.snapshot())
      os.replace(tmp, os.path.join(live, COLLECTOR_FILE))
    return live

  # ---- the pieces, by the names library users and tests know -------------------------

  @property
  def agent(self):
    return self.parts.agent

  @property
  def train_step(self):
    return self.parts.train_step

  @property
  def strategy(self):
    return self.parts.strategy

  @property
  def learner(self):
    return self.trainer.learner

  @property
  def checkpointer(self):
    return self.trainer.checkpointer

  @property
  def policy_trigger(self):
    return self.trainer.policy_trigger

  @property
  def actor(self):
    return self.collector.actor

  @property
  def num_iterations(self) -> int:
    return self.settings.num_iterations

  @property
  def seed(self) -> int:
    return self.settings.seed

  @property
  def eval_results(self) -> List[Dict[str, Any]]:
    return self.evaluator.results if self.trainer is not None else []

  @property
  def iteration(self) -> int:
    return self.trainer.iteration

  # ---- running -----------------------------------------------------------------------

  def save_checkpoint(self) -> None:
    self.trainer.save_checkpoint()

  def restore(self) -> int:
    return self.trainer.restore()

  def initial_collect(self) -> None:
    """The random initial steps (what `run` does first on a fresh run)."""
    self.trainer.stamp()
    self.collector.initial_collect(self.settings.initial_collect_steps, seed=self.settings.seed)
    self.observer.flush()

  def run(self, progress=None, start: Optional[int] = None) -> str:
    return self.trainer.run(progress, start)

  def close(self) -> None:
    """Stops what was built (also after a build that failed half-way)."""
    if self.trainer is not None:
      self.trainer.close()
    if self.parts is not None:
      self.parts.env.close()
    if getattr(self, "evaluator", None) is not None:
      self.evaluator.close()
    if getattr(self, "observer", None) is not None:
      self.observer.close()
    if self.replay_server is not None:
      self.replay_server.stop()
