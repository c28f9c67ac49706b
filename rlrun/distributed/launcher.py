"""`rlrun train --actors N`: every process of distributed training on one machine, supervised.

Starts `rlrun replay-server`, then `rlrun learner`, `rlrun evaluator` and N `rlrun actor`
processes on a free localhost port, each with the same config and bindings and a log
in <root>/logs/. It shows one progress line (train steps/s from the learner, env
steps/s summed over the actors), restarts crashed actors, and stops everything in
order: the learner first (it checkpoints the agent and the replay table), then the
actors and the evaluator, then the server. With `--ray ADDRESS` the same processes run on
the nodes of a Ray cluster (rlrun.distributed.ray_hosts) under the same supervision.
"""

import shutil
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence, TextIO

from rlrun import configs
from rlrun.config_changes import check_unchanged
from rlrun.distributed.ports import free_port, wait_for_port
from rlrun.distributed.settings import Settings
from rlrun.distributed.status import RateMeter, read_statuses
from rlrun.distributed.supervisor import ChildSpec, EventKind, State, Supervisor
from rlrun.errors import UserError, bad_config
from rlrun.run_dir import RunDirectory
from rlrun.train import evaluation
from rlrun.train.interrupts import StopRequest
from rlrun.train.progress import Progress

EXIT_INTERRUPTED = 130
SERVER_START_TIMEOUT_S = 300.0
LEARNER_STOP_TIMEOUT_S = 300.0
LEARNER_NO_SERVER_TIMEOUT_S = 5.0
EVALUATOR_FINISH_TIMEOUT_S = 600.0


def _last_error(log: Path) -> Optional[str]:
  """The last `rlrun: error: ...` line a child wrote, without the prefix."""
  try:
    lines = log.read_text(errors="replace").splitlines()
  except OSError:
    return None
  for line in reversed(lines):
    if line.startswith("rlrun: error: "):
      return line[len("rlrun: error: "):]
  return None


class Launcher:
  """Runs one distributed training session in `root`.

  Args:
    config_path: the resolved gin config.
    root: the run directory (locked by the caller).
    bindings: gin bindings every role applies after the config.
    actors: the number of collect actors.
    settings: distributed.Settings.
    num_iterations, log_interval: from train.Experiment, for the progress display.
    out: where progress and messages go.
    cluster: a ray_hosts.RayCluster to place the processes on (None: this machine).
  """

  def __init__(self, config_path: Path, root: RunDirectory, bindings: Sequence[str], actors: int,
               settings: Settings, num_iterations: int, log_interval: int, out: TextIO,
               allow_config_change: bool = False, cluster=None):
    self.config_path = config_path
    self.root = root
    self.bindings = list(bindings)
    self.actors = actors
    self.settings = settings
    self.num_iterations = num_iterations
    self.log_interval = log_interval
    self.out = out
    self.allow_config_change = allow_config_change
    self.cluster = cluster
    if cluster is None:
      self.host, self.port = "127.0.0.1", free_port()
      self.address = f"localhost:{self.port}"
    else:
      self.host, self.port = cluster.server_endpoint(root.root)
      self.address = f"{self.host}:{self.port}"
    self.actor_names = [f"actor_{i}" for i in range(actors)]
    self.progress: Optional[Progress] = None
    self.env_rate = RateMeter()
    self._evals_seen = len(evaluation.read_results(self.root.root))
    self.last_step: Optional[int] = None
    self._shown_step: Optional[int] = None

  # ---- children ----------------------------------------------------------------------

  def _argv(self, role: str, *extra: str) -> List[str]:
    argv = [sys.executable, "-m", "rlrun.cli", role, "--config", str(self.config_path)]
    for binding in self.bindings:
      argv += ["--gin-param", binding]
    return argv + [str(e) for e in extra]

  def _spec(self, name: str, argv: List[str], **kwargs) -> ChildSpec:
    return ChildSpec(name=name, argv=argv, log_path=self.root.path("logs", f"{name}.log"),
                     **kwargs)

  def specs(self) -> List[ChildSpec]:
    root = str(self.root.root)
    replay = ("--replay", self.address)
    specs = [
        self._spec("learner", self._argv("learner", *replay, "--root-dir", root, "--supervised",
                                         *(["--allow-config-change"]
                                           if self.allow_config_change else [])),
                   critical=True, stop_stage=0, stop_timeout=LEARNER_STOP_TIMEOUT_S),
        self._spec("evaluator", self._argv("evaluator", *replay, "--root-dir", root),
                   restart=True, stop_stage=1)]
    for i, name in enumerate(self.actor_names):
      specs.append(self._spec(name, self._argv(
          "actor", *replay, "--task-id", i, "--num-tasks", self.actors, "--root-dir", root),
                              restart=True, stop_stage=1))
    return specs

  # ---- display -----------------------------------------------------------------------

  def _show(self) -> None:
    statuses = read_statuses(str(self.root.root))
    if self.cluster is not None:
      statuses.update(self.cluster.remote_statuses(self.root.root))
    learner = statuses.get("learner")
    if learner is None or "step" not in learner:
      return
    step = int(learner["step"])
    self.last_step = step
    if self.progress is None:
      self.progress = Progress(self.num_iterations, step, self.log_interval, stream=self.out)
      if learner.get("resumed_from") is not None:
        self.message(f"resuming from step {learner['resumed_from']} of {self.num_iterations} "
                     f"({learner.get('replay_items', 0)} replay items restored)")
    env_steps = sum(int(s.get("env_steps", 0)) for n, s in statuses.items()
                    if n in self.actor_names)
    rate = self.env_rate.update(env_steps, time.time())
    self.progress.extra = f"{rate:7.0f} env steps/s ({self.actors} actors)"
    if learner.get("loss") is not None:
      self.progress.loss = learner["loss"]
    self._show_new_evals()
    if step != self._shown_step:
      self._shown_step = step
      self.progress.update(step)

  def _show_new_evals(self) -> None:
    for record in evaluation.read_results(self.root.root)[self._evals_seen:]:
      self._evals_seen += 1
      self.progress.eval_return = record["AverageReturn"]
      self.message(evaluation.describe(record))

  def message(self, text: str) -> None:
    if self.progress is not None:
      self.progress.message(text)
    else:
      self.out.write(text + "\n")
      self.out.flush()

  # ---- the session -------------------------------------------------------------------

  def run(self) -> int:
    """Starts, supervises and stops every process; returns the exit code."""
    where = (f"Reverb on port {self.port}" if self.cluster is None else
             f"on the Ray cluster at {self.cluster.address}; Reverb at {self.address}")
    self.out.write(f"rlrun: training {self.config_path.name} in {self.root.root} with "
                   f"{self.actors} actors; {where} (no authentication, listens "
                   f"on every interface); logs in {self.root.path('logs')}\n")
    self.out.flush()
    sup = Supervisor(max_restarts=self.settings.max_actor_restarts,
                     backoff_s=self.settings.restart_backoff_s,
                     log_path=self.root.path("logs", "launcher.log"),
                     spawn=None if self.cluster is None else self.cluster.spawn)
    with sup, StopRequest() as stop:
      server = self._spec("replay_server", self._argv(
          "replay-server", "--root-dir", str(self.root.root), "--port", self.port),
                          critical=True, stop_stage=2)
      self._start(sup, server)
      if not wait_for_port(self.host, self.port, timeout=SERVER_START_TIMEOUT_S,
                           alive=lambda: self._still_running(sup, "replay_server")):
        sup.shutdown()
        error = _last_error(server.log_path)
        if error:
          raise UserError(error)
        raise RuntimeError(f"the replay server did not start; see {server.log_path}")
      # The last session's role statuses go once this one is sure to start (an error
      # before this point leaves the run dir as it was).
      for stale in self.root.path("status").glob("*.json"):
        if stale.name != "replay_server.json":
          stale.unlink()
      for spec in self.specs():
        self._start(sup, spec)
      code = self._supervise(sup, stop)
      sup.shutdown(order=["learner", ["evaluator"] + self.actor_names, "replay_server"])
    self._show()
    if self.progress is not None:
      self.progress.close()
    return code

  @staticmethod
  def _start(sup: Supervisor, spec: ChildSpec) -> None:
    """Starts a child; one that cannot start (no node for it, no program) stops the run."""
    try:
      sup.start(spec)
    except OSError as e:
      raise UserError(f"could not start the {spec.name.replace('_', ' ')}: {e}") from e

  @staticmethod
  def _still_running(sup: Supervisor, name: str) -> bool:
    sup.poll()  # notices exits
    return sup.state(name) == State.RUNNING

  def _supervise(self, sup: Supervisor, stop: StopRequest) -> int:
    learner_done_at = None
    while True:
      for event in sup.poll():
        code = self._on_event(sup, event)
        if code is not None:
          return code
      if stop.requested:
        return self._stop(sup, f"interrupted by {stop.signal_name}")
      if sup.state("learner") == State.FINISHED:
        learner_done_at = learner_done_at or time.time()
        evaluator_done = sup.state("evaluator") in (State.FINISHED, State.FAILED)
        if evaluator_done or time.time() - learner_done_at > EVALUATOR_FINISH_TIMEOUT_S:
          self._show()
          self.message(self._finished_text())
          return 0
      self._show()
      time.sleep(0.25)

  def _on_event(self, sup: Supervisor, event) -> Optional[int]:
    name, kind = event.name, event.kind
    if kind in (EventKind.STARTED, EventKind.FINISHED, EventKind.STOPPED):
      if kind == EventKind.STARTED and event.restarts:
        self.message(f"rlrun: {event}")
      return None
    self.message(f"rlrun: {event} (log: {self.root.path('logs', name + '.log')})")
    if name == "learner":
      if event.returncode in (EXIT_INTERRUPTED, -15):
        return self._stopped_text_code("the learner was stopped")
      error = _last_error(self.root.path("logs", "learner.log"))
      if event.returncode == 2 and error:
        sup.shutdown(order=[["evaluator"] + self.actor_names, "replay_server"])
        raise UserError(error)
      return self._failed("the learner crashed", error)
    if name == "replay_server":
      # Without the server the learner can neither train nor checkpoint the replay; its
      # last checkpoint (agent and replay together) is what a rerun resumes from.
      sup.stop(["learner"], timeout=LEARNER_NO_SERVER_TIMEOUT_S)
      return self._failed("the replay server crashed", _last_error(
          self.root.path("logs", "replay_server.log")))
    if kind == EventKind.FATAL and name in self.actor_names:
      alive = [n for n in self.actor_names if sup.state(n) in (State.RUNNING, State.WAITING)]
      if not alive:
        return self._stop(sup, "every actor has crashed more often than "
                          f"distributed.Settings.max_actor_restarts={self.settings.max_actor_restarts}",
                          code=1)
    return None

  def _stop(self, sup: Supervisor, why: str, code: int = EXIT_INTERRUPTED) -> int:
    self.message(f"rlrun: {why}; the learner is saving a checkpoint, then every process stops")
    sup.stop(["learner"])
    self._show()
    step = self.last_step
    self.message(f"rlrun: stopped at step {step}; checkpoint saved. Run the same command to "
                 "resume.")
    return code

  def _stopped_text_code(self, why: str) -> int:
    self._show()
    self.message(f"rlrun: {why} at step {self.last_step}; checkpoint saved. Run the same command "
                 "to resume.")
    return EXIT_INTERRUPTED

  def _failed(self, why: str, error: Optional[str]) -> int:
    detail = f": {error}" if error else ""
    self.message(f"rlrun: {why}{detail}; stopped every process. The last checkpoint is intact: "
                 "run the same command to resume from it.")
    return 1

  def _finished_text(self) -> str:
    results = evaluation.read_results(self.root.root)
    last = f", eval AverageReturn {results[-1]['AverageReturn']:.1f}" if results else ""
    return (f"rlrun: finished at step {self.last_step}{last}; policies in "
            f"{self.root.path('policies')}")


def launch(config: str, root_dir: Optional[str], bindings: Sequence[str], actors: int,
           out: Optional[TextIO] = None, allow_config_change: bool = False,
           ray: Optional[str] = None, ray_learner_resource: Optional[str] = None,
           gpu: bool = False) -> int:
  """`rlrun train --actors N [--ray ADDRESS]`: checks and locks the run directory, then runs
  a Launcher (on the Ray cluster at `ray` when given)."""
  out = sys.stdout if out is None else out
  config_path = configs.resolve(config)
  root = RunDirectory(root_dir or f"runs/{config_path.stem}")
  root.check_can_train(config_path.name)
  # Syntax, names and changes to a resumed run's config fail here, before any process starts.
  check_unchanged(root.path("config.gin"), config_path, bindings, allow_config_change)
  from rlrun.train.settings import Settings as RunSettings
  from rlrun.train.parts import check_env_outputs
  try:
    settings = Settings()
    run_settings = RunSettings()
    if ray is None:  # a Ray cluster's nodes make the environments, not this machine
      check_env_outputs(run_settings)
  except (ValueError, TypeError) as e:
    raise bad_config(e) from e
  if run_settings.fast:
    raise UserError("train.Experiment.fast (--fast) is for single-process runs; distributed "
                    "training (--actors N) replays through Reverb: drop one of the two")
  if run_settings.replay != "reverb":
    raise UserError(f"train.Experiment.replay = {run_settings.replay!r} is for single-process "
                    "runs; distributed training (--actors N) replays through Reverb")
  cluster = None
  if ray is not None:
    from rlrun.distributed.ray_hosts import RayCluster
    cluster = RayCluster(ray, settings, actors, ray_learner_resource, gpu=gpu)
  created = not root.root.exists()
  try:
    root.lock()
    try:
      return _launch_locked(config_path, root, bindings, actors, out, allow_config_change,
                            settings, run_settings, created, cluster)
    finally:
      root.unlock()
  finally:
    if cluster is not None:
      cluster.close()


def _launch_locked(config_path: Path, root: RunDirectory, bindings: Sequence[str], actors: int,
                   out: TextIO, allow_config_change: bool, settings: Settings, run_settings,
                   created: bool, cluster) -> int:
  finished = root.finished_step(run_settings.num_iterations)
  if finished is not None:
    # Nothing would publish weights, so actors and evaluator would wait for good.
    out.write(root.finished_text(finished, run_settings.num_iterations))
    return 0
  try:
    launcher = Launcher(config_path, root, bindings, actors, settings, run_settings.num_iterations,
                        run_settings.log_interval, out, allow_config_change, cluster)
    return launcher.run()
  except UserError:
    if created and not root.path("run.json").exists():
      shutil.rmtree(root.root, ignore_errors=True)
    raise
