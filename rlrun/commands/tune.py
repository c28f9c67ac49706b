"""`rlrun tune`: an Optuna study over bindings, each trial K normal run dirs, pruned on evals."""

import json
import os
import re
import socket
import sys
import zlib
from pathlib import Path
from typing import List, Optional, Sequence, TextIO

from rlrun import configs
from rlrun.commands.study import (check_jobs, check_record, differences, preflight,
                                 refuse_directory_at, run_jobs, study_root, train_args)
from rlrun.errors import UserError, bad_config
from rlrun.run_dir import RunDirectory
from rlrun.studies import trials_report
from rlrun.studies.grid import grid
from rlrun.studies.job_pool import Job
from rlrun.studies.spaces import parse_spaces
from rlrun.studies.tuner import Tuner, trial_dir

TUNE_FILE = "tune.json"
STORAGE_FILE = "study.db"
PRUNERS = ("median", "halving", "none")
# The record's fields a rerun (or another machine sharing the storage) must repeat.
_SAME = ("config", "space", "seeds", "gin_params", "deterministic", "objective")


def _optuna():
  try:
    import optuna
  except ImportError:
    raise UserError("rlrun tune needs Optuna, an optional dependency: pip install "
                    "'rlrun[tune]'") from None
  optuna.logging.set_verbosity(optuna.logging.WARNING)
  return optuna


def _pruner(optuna, name: str, startup: int, eval_interval: int):
  if name == "median":  # (the step-0 evaluations are not reported: see Tuner)
    return optuna.pruners.MedianPruner(n_startup_trials=startup)
  if name == "halving":
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=eval_interval, reduction_factor=3)
  return optuna.pruners.NopPruner()


def _open_study(optuna, storage: str, name: str, record: dict, pruner):
  try:
    study = optuna.create_study(storage=storage, study_name=name, direction="maximize",
                                pruner=pruner, load_if_exists=True)
  except Exception as e:  # a bad URL, a missing database driver, an unreachable server...
    raise UserError(f"cannot open the study's storage {storage}: "
                    f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}; "
                    "check --storage (default: a SQLite file in the study directory)") from None
  if study.direction != optuna.study.StudyDirection.MAXIMIZE:
    raise UserError(f"study '{name}' in {storage} minimizes; choose another --study-name")
  old = study.user_attrs.get("rlrun")
  if old is None:
    if study.trials:
      raise UserError(f"study '{name}' in {storage} was not made by rlrun tune; choose another "
                      "--study-name")
    study.set_user_attr("rlrun", {k: record[k] for k in _SAME})
  elif differences(old, record, _SAME):
    raise UserError(f"study '{name}' in {storage} tunes something else "
                    f"({'; '.join(differences(old, record, _SAME)[:2])}); choose another --study-name")
  return study


def _eval_interval(config_path: Path, bindings: Sequence[str]) -> int:
  import gin
  from rlrun.train.settings import Settings
  try:
    configs.parse(config_path, bindings)
    return Settings().eval_interval
  except (ValueError, TypeError, RuntimeError) as e:
    raise bad_config(e) from None
  finally:
    gin.clear_config()


def tune(config: str, space_texts: Sequence[str], trials: int, seeds_per_trial: int,
         jobs: Optional[int], root_dir: Optional[str], gin_params: Sequence[str],
         objective: str = "final", pruner: str = "median", pruner_startup: int = 5,
         sampler_seed: int = 0, storage: Optional[str] = None, study_name: Optional[str] = None,
         deterministic: bool = False, allow_config_change: bool = False,
         out: Optional[TextIO] = None) -> int:
  """Runs `rlrun tune`; returns the exit code."""
  out = out or sys.stdout
  spaces = parse_spaces(space_texts)
  if trials < 1:
    raise UserError(f"--trials must be >= 1, got {trials}")
  if seeds_per_trial < 1:
    raise UserError(f"--seeds-per-trial must be >= 1, got {seeds_per_trial}")
  if pruner_startup < 0:
    raise UserError(f"--pruner-startup must be >= 0, got {pruner_startup}")
  for binding in gin_params:
    name = binding.partition("=")[0].strip()
    if name in {s.binding for s in spaces} or re.fullmatch(r"train\.Experiment\.seed", name):
      raise UserError(f"--gin-param {name} is also set by the study (--space or the trial's "
                      "seeds); drop the --gin-param")
  optuna = _optuna()
  seeds = list(range(seeds_per_trial))
  parallel, threads = check_jobs(jobs, trials * seeds_per_trial)
  config_path = configs.resolve(config)
  root = study_root(root_dir, f"runs/tune-{config_path.stem}")
  external = storage is not None
  record = {"config": config_path.name, "space": {s.binding: s.describe() for s in spaces},
            "seeds": seeds, "gin_params": list(gin_params), "deterministic": deterministic,
            "objective": objective, "pruner": pruner, "storage": storage,
            "study_name": study_name}
  # (Another study in the same directory would put its trials in the same trial<N> dirs.)
  check_record(root, TUNE_FILE, record, _SAME + ("storage", "study_name"), "study",
               hint=" (--trials may grow)")
  refuse_directory_at(root / trials_report.TRIALS_FILE, "study writes its trials table")
  storage = storage or f"sqlite:///{root / STORAGE_FILE}"
  study_name = study_name or root.name
  common = list(gin_params) + (["train.Experiment.deterministic = True"] if deterministic else [])
  eval_interval = _eval_interval(config_path, common)
  if pruner != "none" and eval_interval <= 0:
    raise UserError("the pruner needs evaluations during each run, but "
                    "train.Experiment.eval_interval is 0 (only at the end): set it with "
                    "--gin-param or pass --pruner none")

  def make_job(directory: str, seed: int, bindings: List[str]) -> Job:
    run_root = root / directory / f"seed{seed}"
    return Job(f"{directory}/seed{seed}", run_root, train_args(
        config, run_root, list(gin_params) + bindings, deterministic, allow_config_change) + [
            "--seed", str(seed)], root / "logs" / directory / f"seed{seed}.log")

  def runs_of(directory: str, bindings: List[str]):
    return [(root / directory / f"seed{seed}", common + bindings + [
        f"train.Experiment.seed = {seed}"]) for seed in seeds]

  # Everything a run would refuse, before anything is written: each probe builds the
  # config with the spaces' ends (and each choice), and the runs of interrupted trials.
  probes = [grid([(s.binding, [s.probe(i)]) for s in spaces])[0]
            for i in range(max([2] + [len(s.choices) for s in spaces]))]
  checks = [runs_of(probe.name, probe.gin_params())[0] for probe in probes]
  preflight(config_path, root, checks, allow_config_change, build=range(len(checks)))
  pruner_object = _pruner(optuna, pruner, pruner_startup, eval_interval)
  # One tune process per directory. An outside storage is opened first (a bad URL then leaves
  # no directory behind); the default SQLite file needs the directory.
  study = _open_study(optuna, storage, study_name, record, pruner_object) if external else None
  study_lock = RunDirectory(str(root))
  study_lock.lock()
  (root / TUNE_FILE).write_text(json.dumps(record, indent=1) + "\n")
  if study is None:
    study = _open_study(optuna, storage, study_name, record, pruner_object)
  # A resumed study's sampler must not replay the first trials' draws: its seed moves on
  # with the trials the study holds (the same command, stopped at the same point, repeats).
  # Machines sharing an outside storage each draw their own (their draws are not repeatable).
  seed = sampler_seed + len(study.get_trials(deepcopy=False))
  if external:
    seed += zlib.crc32(f"{socket.gethostname()}:{os.getpid()}".encode())
  study.sampler = optuna.samplers.TPESampler(seed=seed % 2**32)
  tuner = Tuner(study, spaces, seeds, root, trials, objective, make_job)
  interrupted = tuner.interrupted_trials()
  resumed = [runs_of(trial_dir(t.number), tuner.bindings(t.params)) for t in interrupted]
  finished = preflight(config_path, root, [run for runs in resumed for run in runs],
                       allow_config_change, build=())
  resumed_jobs = []
  for index, frozen in enumerate(interrupted):
    resumed_jobs += tuner.resume(frozen, finished[index * len(seeds):(index + 1) * len(seeds)])
  if interrupted:
    out.write(f"rlrun: resuming {len(interrupted)} interrupted trial"
              f"{'s' if len(interrupted) > 1 else ''}: "
              f"{', '.join(str(t.number) for t in interrupted)}\n")
  held = len(study.get_trials(deepcopy=False))
  out.write(f"rlrun: study '{study_name}' holds {held} of {trials} trials ({storage})\n")

  def report() -> List[str]:
    found = trials_report.rows(study.get_trials(deepcopy=False), spaces)
    trials_report.write_csv(found, root / trials_report.TRIALS_FILE)
    lines = trials_report.table(found, spaces, objective)
    counts = {}
    for row in found:
      counts[row["state"]] = counts.get(row["state"], 0) + 1
    lines.append(f"{len(found)} trials: " + ", ".join(f"{n} {state}" for state, n in
                                                      counts.items()))
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if complete:
      best = max(complete, key=lambda t: (t.value, -t.number))
      path = root / trials_report.BEST_FILE
      trials_report.write_best_gin(path, config_path, best, common + tuner.bindings(best.params),
                                   study_name, objective, seeds)
      lines.append(f"best: trial {best.number} ({objective} eval {best.value:.1f}); its "
                   f"bindings in {path}: rlrun train --config {path}")
    lines.append(f"trials: {root / trials_report.TRIALS_FILE}; dashboard: optuna-dashboard "
                 f"{storage}")
    return lines

  try:
    return run_jobs(resumed_jobs, parallel, threads, out, report, scheduler=tuner,
                    logs=root / "logs")
  finally:
    study_lock.unlock()
