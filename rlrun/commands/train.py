"""`rlrun train`: resolve the config, protect the run directory, build, train, report."""

import os
import shutil
import sys
from typing import Any, Callable, List, Optional, Sequence, TextIO

import gin

from rlrun import configs
from rlrun.errors import UserError, bad_config
from rlrun.run_dir import RunDirectory, argv
from rlrun.train.interrupts import StopRequest
from rlrun.utils.native_logs import native_logs_to

EXIT_INTERRUPTED = 130


def _build_experiment(root: RunDirectory, make_experiment: Optional[Callable[[str], Any]] = None,
                      start: bool = True):
  """Builds the experiment of the parsed config; `start=False` stops before anything on disk
  changes (a dry build: every binding consumed and checked)."""
  from rlrun.distributed.settings import Settings
  from rlrun.train.experiment import Experiment
  from rlrun.train.parts import check_env_outputs
  make_experiment = make_experiment or (lambda root_dir: Experiment(root_dir=root_dir))
  try:
    Settings()  # checked (and its bindings used) in single-process runs too
    experiment = make_experiment(str(root.root))
  except (ValueError, TypeError, RuntimeError) as e:
    raise bad_config(e) from e
  # Every binding is consumed by build_parts(), which changes nothing on disk; start()
  # (replay server, checkpoints set aside...) runs only once the config is known good.
  build_parts = getattr(experiment, "build_parts", experiment.build)
  try:
    build_parts()
    unused = configs.unused_bindings()
    if unused:
      raise UserError(f"gin bindings that nothing uses (typo or wrong scope?): "
                      f"{', '.join(unused)}")
    settings = getattr(experiment, "settings", None)
    if hasattr(settings, "env_fn"):
      check_env_outputs(settings)
    if build_parts != experiment.build and start:
      experiment.start()
  except UserError:
    experiment.close()
    raise
  except (ValueError, TypeError) as e:
    experiment.close()
    raise UserError(configs.describe_error(e)) from e
  return experiment


def dry_build() -> None:
  """Builds the parsed config's parts in a scratch directory and drops them.

  Raises:
    UserError: for everything `rlrun train` would refuse at build time (unused bindings,
      agents on the wrong action spec, impossible tables...).
  """
  import tempfile
  with tempfile.TemporaryDirectory(prefix="rlrun-check-") as scratch:
    _build_experiment(RunDirectory(os.path.join(scratch, "run")), start=False).close()


def _num_iterations() -> int:
  from rlrun.train.settings import Settings
  try:
    return Settings().num_iterations
  except (ValueError, TypeError, RuntimeError) as e:
    raise bad_config(e) from e


def bindings_from(gin_params: Sequence[str], seed: Optional[int], gpu: bool = False) -> List[str]:
  """--gin-param bindings followed by the bindings of the --seed and --gpu shorthands."""
  bindings = list(gin_params) + ([f"train.Experiment.seed = {seed}"] if seed is not None else [])
  return bindings + (["train.Experiment.strategy = 'mirrored'"] if gpu else [])


def train(config: str, root_dir: Optional[str], gin_params: Sequence[str], seed: Optional[int],
          out: Optional[TextIO] = None, gpu: bool = False, actors: int = 0,
          allow_config_change: bool = False, deterministic: bool = False,
          ray: Optional[str] = None, ray_learner_resource: Optional[str] = None) -> int:
  """Runs `rlrun train`; returns the exit code.

  `seed` and `gpu` are shorthands for bindings applied after `gin_params`. With
  `actors` > 0 the run is distributed over processes (see rlrun.distributed.launcher).
  `allow_config_change` lets a resume change bindings other than num_iterations. `ray`
  places the distributed run's processes on a Ray cluster (rlrun.distributed.ray_hosts).
  """
  out = sys.stdout if out is None else out
  if actors < 0:
    raise UserError(f"--actors must be >= 0, got {actors}")
  if seed is not None and seed < 0:
    raise UserError(f"--seed must be >= 0, got {seed}")
  bindings = bindings_from(gin_params, seed, gpu)
  if deterministic:
    if actors:
      raise UserError("--deterministic runs in one process (Reverb's sampling and the actors' "
                      "timing cannot be seeded); drop --actors")
    bindings.append("train.Experiment.deterministic = True")
  if actors:
    from rlrun.distributed.launcher import launch
    return launch(config, root_dir, bindings, actors, out, allow_config_change, ray=ray,
                  ray_learner_resource=ray_learner_resource, gpu=gpu)
  return run_training(config, root_dir, bindings, out, allow_config_change=allow_config_change)


def run_training(config: str, root_dir: Optional[str], bindings: Sequence[str],
                 out: Optional[TextIO] = None,
                 make_experiment: Optional[Callable[[str], Any]] = None,
                 lock: bool = True, allow_config_change: bool = False) -> int:
  """Checks the run directory, parses the config, builds and trains; returns the exit code.

  make_experiment: root_dir -> an unbuilt Experiment (default: train.Experiment).
  lock: take the run directory's lock (False when a launcher holds it).
  allow_config_change: resume even when bindings other than num_iterations changed.
  """
  out = sys.stdout if out is None else out
  from rlrun.config_changes import check_unchanged
  config_path = configs.resolve(config)
  root = RunDirectory(root_dir or f"runs/{config_path.stem}")
  root.check_can_train(config_path.name)
  changes = check_unchanged(root.path("config.gin"), config_path, bindings, allow_config_change)
  num_iterations = _num_iterations()  # the loop's settings are checked before anything is made
  created = not root.root.exists()
  if lock:
    root.lock()
  try:
    return _locked_training(root, config_path, bindings, out, make_experiment, changes,
                            num_iterations, created)
  finally:
    root.unlock()


def _locked_training(root: RunDirectory, config_path, bindings, out: TextIO, make_experiment,
                     changes, num_iterations: int, created: bool) -> int:
  finished = root.finished_step(num_iterations)
  if finished is not None:  # before anything is built: a finished run is left as it is
    out.write(root.finished_text(finished, num_iterations))
    return 0
  # From here a Ctrl-C / SIGTERM is a stop request: start-up finishes, the loop does not
  # start, and what exists (the replay collected so far included) is checkpointed.
  # Native log lines are held aside until the build succeeds: a mistake found while
  # building leaves an existing run's logs as they were.
  with StopRequest(), native_logs_to(None) as native_log:
    try:
      experiment = _build_experiment(root, make_experiment)
    except UserError:
      if created:
        shutil.rmtree(root.root, ignore_errors=True)
      raise
    native_log.keep_in(root.path("logs", "native.log"))
    return _train(experiment, root, config_path, bindings, out, changes)


def _train(experiment, root: RunDirectory, config_path, bindings, out: TextIO,
           changes: Sequence[str] = ()) -> int:
  try:
    start = experiment.restore()
    if start >= experiment.num_iterations:
      out.write(root.finished_text(start, experiment.num_iterations))
      return 0
    root.write_metadata(config_path.name, str(config_path), experiment.seed, argv(),
                        bindings=list(bindings), config_changes=list(changes))
    root.write_text("config.gin", config_path.read_text() + "".join(
        f"\n# --gin-param\n{b}\n" for b in bindings))
    root.write_text("operative_config.gin", gin.operative_config_str())
    out.write(f"rlrun: training {config_path.name} in {root.root} "
              f"(TensorBoard: tensorboard --logdir {root.root})\n")
    try:
      status = experiment.run(start=start)
    except BaseException as e:
      text = str(e).strip().splitlines()
      root.record_end("failed", experiment.iteration,
                      f"{type(e).__name__}: {text[0] if text else ''}"[:300])
      raise
    step = experiment.iteration
    root.record_end("interrupted" if status.startswith("interrupted") else "finished", step)
    last = experiment.eval_results[-1]["AverageReturn"] if experiment.eval_results else None
    last_text = f", eval AverageReturn {last:.1f}" if last is not None else ""
    if status.startswith("interrupted"):
      out.write(f"rlrun: {status} at step {step}; checkpoint saved. Run the same command to "
                "resume.\n")
      return EXIT_INTERRUPTED
    out.write(f"rlrun: finished at step {step}{last_text}; policies in {root.path('policies')}\n")
    return 0
  finally:
    experiment.close()
