"""The Reverb server of distributed training: the replay table and the variable table.

The replay table is the config's (replay.make_table bindings) with a rate limiter that
keeps collection and training in the config's balance (see `distributed_rate_limiter`);
the variable table holds the newest policy weights. The server checkpoints into
<root>/replay when the learner asks (so replay and agent checkpoints always match) and
loads the newest checkpoint when it starts, so a rerun resumes with its replay.
"""

import os
import sys
import time
from typing import Optional, TextIO

import gin
import reverb

from rlrun.builders.builder import LoopKind
from rlrun.distributed.policy_weights import policy_variables
from rlrun.distributed.settings import VARIABLE_TABLE, Settings
from rlrun.distributed.status import StatusWriter
from rlrun.distributed.variable_container import make_variable_table
from rlrun.replay_buffers import reverb_utils
from rlrun.train.checkpointer import make_checkpointer, replay_server_start
from rlrun.train.interrupts import StopRequest
from rlrun.train.parts import AgentParts
from rlrun.train.settings import Settings as RunSettings


def _bound(binding: str) -> bool:
  try:
    gin.query_parameter(binding)
    return True
  except ValueError:
    return False


def distributed_rate_limiter(run_settings, settings: Settings, max_size: int):
  """The replay table's rate limiter when actors and learner run free of each other.

  Sampling starts once the table holds the initial random steps (at least a batch).
  Then a SampleToInsertRatio keeps samples per insert at the single-process ratio
  (batch_size * train_steps_per_iteration / collect_steps_per_iteration) unless
  distributed.Settings.samples_per_insert says otherwise; 0 means MinSize only.
  """
  min_size = min(max(run_settings.batch_size, run_settings.initial_collect_steps, 1), max_size)
  ratio = settings.samples_per_insert
  if ratio is None:
    ratio = (run_settings.batch_size *
             run_settings.builder.train_steps_per_iteration(run_settings) /
             run_settings.collect_steps_per_iteration)
  if ratio == 0:
    return reverb.rate_limiters.MinSize(min_size)
  error_buffer = settings.samples_per_insert_error_buffer
  if error_buffer is None:
    error_buffer = ratio * max(500, 4 * settings.variable_pull_interval)
  return reverb_utils.sample_to_insert_ratio(samples_per_insert=ratio,
                                             min_size_to_sample=min_size,
                                             error_buffer=error_buffer, max_size=max_size)


class ReplayServerRole:
  """Builds the tables of the run's config and serves them on `port`.

  Args:
    run_settings: the run's train.Experiment settings (None: from gin).
    root_dir: the run directory; replay checkpoints go to <root_dir>/replay.
    port: the port to listen on (None: a free one).
    settings: distributed.Settings.
  """

  def __init__(self, run_settings: Optional[RunSettings], root_dir: str,
               port: Optional[int] = None, settings: Optional[Settings] = None,
               out: Optional[TextIO] = None):
    out = sys.stdout if out is None else out
    self.run_settings = run_settings or RunSettings()
    self.parts: Optional[AgentParts] = None
    self.root_dir = root_dir
    self.port = port
    self.settings = settings or Settings()
    self.out = out
    self.server = None

  def build(self) -> None:
    # The agent only for the specs and the variables' shapes.
    self.parts = parts = AgentParts.build(self.run_settings, strategy="default",
                                               collecting=False)
    builder = parts.builder
    self.table_name = builder.table_name
    table = builder.make_table(parts.agent)
    # An on-policy builder's queue keeps its own limiter (writers wait while it is full).
    if builder.loop_kind is LoopKind.OFF_POLICY and not _bound("replay.make_table.rate_limiter"):
      limiter = distributed_rate_limiter(self.run_settings, self.settings, table.info.max_size)
      table = builder.make_table(parts.agent, rate_limiter=limiter)
    variables = make_variable_table(VARIABLE_TABLE, policy_variables(parts.agent))
    # The learner resumes from the newest checkpoint that reads back; its replay is loaded.
    checkpointer = make_checkpointer(self.root_dir)
    start = replay_server_start(checkpointer.select())
    checkpointer.set_aside_skipped()
    for note in checkpointer.notes:
      self.out.write(note + "\n")
    self.server = reverb_utils.ReplayServer([table, variables],
                                            checkpoint_dir=os.path.join(self.root_dir, "replay"),
                                            port=self.port, **start)
    self.status = StatusWriter(self.root_dir, "replay_server", self.settings.status_interval_s)

  def run(self) -> str:
    self.out.write(f"rlrun: Reverb server on port {self.server.port} (tables "
                   f"{self.table_name}, {VARIABLE_TABLE}). Reverb has no authentication and listens "
                   "on every interface: keep this port behind a firewall or on a private "
                   "network.\n")
    self.out.flush()
    with StopRequest() as stop:
      while not stop.requested:
        time.sleep(0.5)
        info = self.server.client.server_info()[self.table_name]
        self.status.write(items=info.current_size, inserts=info.rate_limiter_info.insert_stats.completed,
                          samples=info.rate_limiter_info.sample_stats.completed, port=self.server.port)
      return f"stopped by {stop.signal_name}"

  def close(self) -> None:
    if self.server is not None:
      self.server.stop()
    if self.parts is not None:
      self.parts.env.close()
