"""The gin settings of distributed training: timeouts, weight pulls, restarts, rate limits."""

import dataclasses
from typing import Optional

import gin

# The Reverb table holding the newest policy weights and their train step.
VARIABLE_TABLE = "policy_variables"


@gin.configurable(module="distributed")
@dataclasses.dataclass
class Settings:
  """How the roles of `rlrun train --actors N` (or the role commands) work together.

  Args:
    variable_pull_interval: environment steps an actor takes between pulls of the
      latest policy weights from the variable table.
    rpc_timeout_s: the longest any single Reverb call may block (connect, server_info,
      writer flush, weight pull); an unreachable --replay address fails after this.
    server_grace_s: how long actors and the evaluator keep retrying when the Reverb
      server stops answering, before they exit non-zero.
    max_actor_restarts: how often the launcher restarts crashed actors in one run.
    restart_backoff_s: the first restart delay; it doubles per restart of an actor.
    samples_per_insert: the SampleToInsertRatio of the replay table: items sampled
      per item inserted. None: batch_size * train_steps_per_iteration /
      collect_steps_per_iteration, the single-process ratio. 0 turns the ratio limiter
      off (a MinSize limiter only: actors and learner run free).
    samples_per_insert_error_buffer: how far (in samples) the learner and actors may
      drift apart before the faster side blocks. None: samples_per_insert times
      max(500, 4 * variable_pull_interval), i.e. actors run at most that many inserts
      ahead of the learner (or behind it).
    actor_max_steps: environment steps after which an actor stops (None: no limit).
    actor_max_episodes: episodes after which an actor stops (None: no limit).
    status_interval_s: seconds between the status files roles write for the progress
      display.
    ray_cpus_per_role: with --ray, the CPUs Ray reserves for each role's process (the
      learner node must have 3 of them for the server, learner and evaluator).
  """
  variable_pull_interval: int = 50
  rpc_timeout_s: float = 10.0
  server_grace_s: float = 60.0
  max_actor_restarts: int = 5
  restart_backoff_s: float = 1.0
  samples_per_insert: Optional[float] = None
  samples_per_insert_error_buffer: Optional[float] = None
  actor_max_steps: Optional[int] = None
  actor_max_episodes: Optional[int] = None
  status_interval_s: float = 0.5
  ray_cpus_per_role: float = 1.0

  def __post_init__(self):
    for name in ("variable_pull_interval", "max_actor_restarts"):
      if getattr(self, name) < (1 if name == "variable_pull_interval" else 0):
        raise ValueError(f"distributed.Settings.{name} must be positive, got "
                         f"{getattr(self, name)}")
    for name in ("rpc_timeout_s", "server_grace_s", "status_interval_s", "ray_cpus_per_role"):
      if getattr(self, name) <= 0:
        raise ValueError(f"distributed.Settings.{name} must be > 0, got {getattr(self, name)}")
    if self.samples_per_insert is not None and self.samples_per_insert < 0:
      raise ValueError("distributed.Settings.samples_per_insert must be >= 0 (0: no ratio "
                       f"limiter), got {self.samples_per_insert}")
