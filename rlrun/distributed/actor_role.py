"""A collect actor of distributed training: one environment, the newest policy, a Reverb writer.

Task `i` steps its own environment (the run's environment 2000 + i: parts.env_seed),
writes every step into the replay table of the server at `replay_address`, and pulls the
newest policy weights from the variable table every `variable_pull_interval` steps. On a fresh
replay table it first collects its share of the config's random initial steps. It
stops when the learner has reached num_iterations, at its own step or episode limit,
or on SIGTERM / Ctrl-C.
"""

import math
import os
import sys
import time
from typing import Optional, TextIO

from rlrun.distributed import connection
from rlrun.distributed.policy_weights import PolicyWeights
from rlrun.distributed.settings import VARIABLE_TABLE, Settings
from rlrun.distributed.status import StatusWriter
from rlrun.distributed.variable_container import VariableContainer
from rlrun.train.collector import Collector
from rlrun.train.interrupts import StopRequest
from rlrun.train.parts import ACTOR_ENV_OFFSET, AgentParts, env_seed
from rlrun.train.settings import Settings as RunSettings

# How often an actor whose inserts are held back asks whether the learner finished.
LEARNER_CHECK_INTERVAL_S = 2.0
# The deadline of one write attempt.
WRITE_RETRY_S = 1.0


class _PatientObserver:
  """The replay observer, waiting out a rate limiter or a briefly silent server.

  An insert the server's rate limiter holds back (the learner is behind) times out
  and is made again, as long as the server answers; `should_stop` ends the waiting
  (the learner finished, or this actor was asked to stop) with connection.Cancelled.
  """

  def __init__(self, observer, address: str, grace_s: float, should_stop):
    self._observer = observer
    self._address = address
    self._grace_s = grace_s
    self._should_stop = should_stop

  def _patiently(self, fn, what: str) -> None:
    connection.retry(fn, self._grace_s, what, self._address, sleep_s=0.05,
                     should_stop=self._should_stop)

  def __call__(self, trajectory) -> None:
    self._patiently(lambda: self._observer(trajectory), "writing trajectories")

  def flush(self) -> None:
    self._patiently(self._observer.flush, "flushing trajectories")

  def __getattr__(self, name: str):
    # A rollout writer's end_run(time_step), retried like the writes.
    observer = self.__dict__.get("_observer")
    if observer is None or name.startswith("__"):
      raise AttributeError(name)
    method = getattr(observer, name)
    if name != "end_run":
      return method
    return lambda *args: self._patiently(lambda: method(*args), "writing a rollout")


class CollectActor:
  """Builds and runs collect task `task_id` of a run's config.

  Args:
    run_settings: the run's train.Experiment settings (None: from gin).
    replay_address: HOST:PORT of the Reverb server.
    task_id: this actor's index; seeds its environment and policy.
    num_tasks: how many actors share the initial random collection.
    settings: distributed.Settings.
    root_dir: where summaries and the status file go (None: nowhere).
  """

  def __init__(self, run_settings: Optional[RunSettings], replay_address: str, task_id: int = 0,
               num_tasks: int = 1, settings: Optional[Settings] = None,
               root_dir: Optional[str] = None, out: Optional[TextIO] = None):
    out = sys.stdout if out is None else out
    self.run_settings = run_settings or RunSettings()
    self.replay_address = replay_address
    self.task_id = task_id
    self.num_tasks = max(1, num_tasks)
    self.settings = settings or Settings()
    self.root_dir = root_dir
    self.out = out
    self.parts: Optional[AgentParts] = None
    self.env_steps = 0
    self.episodes = 0

  @property
  def name(self) -> str:
    return f"actor_{self.task_id}"

  def build(self) -> None:
    timeout = self.settings.rpc_timeout_s
    self.client = connection.connect(self.replay_address, timeout)
    self.parts = parts = AgentParts.build(self.run_settings,
                                          env_index=ACTOR_ENV_OFFSET + self.task_id,
                                          strategy="default")
    builder = parts.builder
    table = self.client.server_info(timeout=math.ceil(timeout))[builder.table_name]
    signature = table.signature
    # Items carry the train step of the weights that wrote them, where priorities are unused.
    self._stamps = table.sampler_options.WhichOneof("distribution") != "prioritized"
    packed = getattr(signature, "dtype", None) is not None and signature.dtype.name == "uint8"
    # Short write deadlines: an insert the rate limiter holds back is retried, and
    # between tries the actor notices a stop request or the learner's end.
    self.writer = builder.make_writer(self.client, parts.agent, packed=packed,
                                      timeout_s=min(timeout, WRITE_RETRY_S))
    if self._stamps:
      self.writer.stamp(0)  # the random initial steps (every writer rlrun builds has stamp)
    self.observer = _PatientObserver(self.writer, self.replay_address,
                                     self.settings.server_grace_s, self._should_stop)
    self._stop: Optional[StopRequest] = None
    self._learner_checked = 0.0
    self.variables = VariableContainer(self.client, VARIABLE_TABLE, timeout_s=timeout)
    self.weights = PolicyWeights(self.variables, parts.agent, parts.iteration,
                                 self.settings.server_grace_s)
    summary_dir = os.path.join(self.root_dir, "train", self.name) if self.root_dir else None
    self.collector = Collector(parts, self.observer,
                               builder.actor_steps_per_run(self.run_settings,
                                                           self.settings.variable_pull_interval),
                               summary_dir=summary_dir,
                               rng_seed=[self.run_settings.seed, self.task_id])
    self.status = (StatusWriter(self.root_dir, self.name, self.settings.status_interval_s)
                   if self.root_dir else None)

  def _table_size(self) -> int:
    info = connection.retry(
        lambda: self.client.server_info(timeout=math.ceil(self.settings.rpc_timeout_s)),
        self.settings.server_grace_s, "reading the replay table size", self.replay_address)
    return info[self.parts.builder.table_name].current_size

  def _initial_collect(self) -> None:
    steps = math.ceil(self.run_settings.initial_collect_steps / self.num_tasks)
    if steps <= 0 or self._table_size() > 0:
      return
    self.collector.initial_collect(
        steps, seed=env_seed(self.run_settings.seed, ACTOR_ENV_OFFSET + self.task_id),
        should_stop=lambda: self._stop is not None and self._stop.requested)

  def _pull(self) -> Optional[int]:
    """Loads the newest weights; returns their train step (None: the learner has not published)."""
    step = self.weights.pull(should_stop=lambda: self._stop is not None and self._stop.requested)
    if step is not None:
      self.collector.pull_weights()  # numpy mirrors copy the new TF values
    return step

  def _should_stop(self) -> bool:
    """Whether to stop waiting for the server: asked to stop, or the learner finished."""
    if self._stop is not None and self._stop.requested:
      return True
    now = time.monotonic()
    if now - self._learner_checked < LEARNER_CHECK_INTERVAL_S:
      return False
    self._learner_checked = now
    try:
      _, step = self.variables.pull(timeout_s=1.0)
    except Exception:  # pylint: disable=broad-except
      return False  # no weights yet, or a silent server: keep waiting
    return step >= self.run_settings.num_iterations

  def _limit_reached(self) -> bool:
    s = self.settings
    return ((s.actor_max_steps is not None and self.env_steps >= s.actor_max_steps) or
            (s.actor_max_episodes is not None and self.episodes >= s.actor_max_episodes))

  def run(self) -> str:
    """Collects until a stop condition; returns why it stopped."""
    with StopRequest() as stop:
      self._stop = stop
      try:
        reason = self._collect(stop)
        self.observer.flush()
      except connection.Cancelled:
        reason = (f"stopped by {stop.signal_name}" if stop.requested else
                  "the learner finished")
      self.collector.write_summaries()
      self._write_status(state="stopped", force=True)
      return reason

  def _collect(self, stop: StopRequest) -> str:
    self._initial_collect()
    while True:
      if stop.requested:
        return f"stopped by {stop.signal_name}"
      step = self._pull()
      if step is None:
        self._write_status(state="waiting for the learner's first weights")
        time.sleep(0.5)
        continue
      if step >= self.run_settings.num_iterations:
        return f"the learner finished ({step} steps)"
      if self._limit_reached():
        return "reached its step/episode limit"
      if self._stamps:  # the learner publishes its iteration; staleness counts train steps
        self.writer.stamp(self.run_settings.train_step_of(step))
      self.collector.run(pull_weights=False)
      self.env_steps = self.collector.env_steps
      self.episodes = self.collector.episodes
      self._write_status(state="collecting")

  def _write_status(self, state: str, force: bool = False) -> None:
    if self.status is not None:
      self.status.write(force=force, env_steps=self.env_steps, episodes=self.episodes,
                        state=state, pid=os.getpid())

  def close(self) -> None:
    if hasattr(self, "writer"):
      self.writer.close()
    if self.parts is not None:
      self.parts.env.close()
