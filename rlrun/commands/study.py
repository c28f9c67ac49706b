"""`rlrun train --seeds`: one run per seed, J at a time, and the table of their results."""

import json
import os
import re
import sys
from pathlib import Path
from typing import Callable, List, Optional, Sequence, TextIO, Tuple

import gin

from rlrun import configs
from rlrun.analysis.run_results import is_run_dir
from rlrun.errors import UserError
from rlrun.run_dir import RunDirectory
from rlrun.studies import summary
from rlrun.studies.job_pool import EXIT_INTERRUPTED, Job, JobPool, Scheduler
from rlrun.studies.seeds import parse_seeds


def check_jobs(jobs: Optional[int], runs: int) -> Tuple[int, int]:
  """(processes at once, TensorFlow threads each) for `runs` runs on this machine's cores."""
  cores = os.cpu_count() or 1
  if jobs is not None and jobs < 1:
    raise UserError(f"--jobs must be >= 1, got {jobs}")
  parallel = min(runs, jobs or cores)
  return parallel, max(1, cores // parallel)


def study_root(root_dir: Optional[str], default: str) -> Path:
  """The directory holding a study's runs; refuses a file or a single run's directory."""
  root = Path(root_dir or default).expanduser().absolute()
  if root.exists() and not root.is_dir():
    raise UserError(f"--root-dir {root} is a file, not a directory; choose another path")
  if is_run_dir(root):
    raise UserError(f"--root-dir {root} holds a single run; a study keeps one run per "
                    "directory below its root: choose another --root-dir")
  from rlrun.commands.output_files import refuse_run_state
  refuse_run_state("--root-dir", str(root_dir or default), root)
  return root


def refuse_directory_at(path: Path, what: str) -> None:
  """A study writes `path` (its table) at the end: refuse a directory there up front."""
  if path.is_dir():
    raise UserError(f"{path} is a directory, where the {what}; move it away or choose "
                    "another --root-dir")


def differences(old: dict, record: dict, keys: Sequence[str]) -> List[str]:
  """'key: old -> new' for each of `keys` whose value differs."""
  return [f"{k}: {old.get(k)} -> {record[k]}" for k in keys if old.get(k) != record[k]]


def check_record(root: Path, name: str, record: dict, keys: Sequence[str], kind: str,
                 hint: str = "") -> None:
  """A rerun must ask for the same study (sweep, tune...) as the one `root/name` records; a
  directory without that record must be empty (but for logs/).

  Raises:
    UserError: naming the first differences, or the foreign directory.
  """
  path = root / name
  if path.is_file():
    try:
      old = json.loads(path.read_text())
    except (OSError, ValueError) as e:
      raise UserError(f"{path} is unreadable ({e}); restore it or choose another --root-dir")
    if not isinstance(old, dict):
      raise UserError(f"{path} is not a {kind} record (a JSON object); restore it or choose "
                      "another --root-dir")
    differs = differences(old, record, keys)
    if differs:
      raise UserError(f"{root} holds another {kind} ({'; '.join(differs[:2])}); rerun it as it "
                      f"was to resume{hint}, or choose another --root-dir")
  elif root.is_dir() and any(p.name not in ("logs", ".lock") for p in root.iterdir()):
    raise UserError(f"{root} is not empty and holds no {kind} ({name} missing); choose an "
                    "empty or new --root-dir")


def preflight(config_path: Path, study: Path, runs: Sequence[Tuple[Path, List[str]]],
              allow_config_change: bool, build: Sequence[int] = (0,)) -> List[bool]:
  """Everything `rlrun train` would refuse, for every run, before any run starts.

  Each run dir must be new or a run of this config with these bindings; the config with
  the bindings of the runs whose indices are in `build` is built in a scratch directory
  (runs that differ by seed alone need one build between them).

  Returns:
    Per run, whether it is finished already (it is then not started again).
  """
  from rlrun.commands.train import _num_iterations, dry_build
  from rlrun.config_changes import check_unchanged
  finished = []
  for index, (root, bindings) in enumerate(runs):
    run_dir = RunDirectory(str(root))
    try:
      run_dir.check_can_train(config_path.name)
      check_unchanged(run_dir.path("config.gin"), config_path, bindings, allow_config_change)
      num_iterations = _num_iterations()
      if index in build:
        dry_build()
      finished.append(run_dir.finished_step(num_iterations) is not None)
    except UserError as e:
      where = root.relative_to(study)
      raise UserError(f"{where}: {str(e).strip().splitlines()[0]}",
                      [f"{where}: {line}" for line in e.more]) from None
    finally:
      gin.clear_config()  # this process trains nothing: the children parse their own
  return finished


def train_args(config: str, root: Path, gin_params: Sequence[str], deterministic: bool,
               allow_config_change: bool) -> List[str]:
  args = ["--config", config, "--root-dir", str(root)]
  for binding in gin_params:
    args += ["--gin-param", binding]
  return args + (["--deterministic"] if deterministic else []) + (
      ["--allow-config-change"] if allow_config_change else [])


def run_jobs(jobs: List[Job], parallel: int, threads: int, out: TextIO,
             report: Optional[Callable[[], List[str]]] = None,
             scheduler: Optional[Scheduler] = None, logs: Optional[Path] = None) -> int:
  """Runs the jobs (and those `scheduler` adds), prints `report()` (default: each run's
  results); returns the exit code."""
  done = sum(j.state == "finished" for j in jobs)
  if done:
    out.write(f"rlrun: {done} of {len(jobs)} runs finished already: "
              f"{', '.join(j.name for j in jobs if j.state == 'finished')}\n")
  pool = JobPool(jobs, parallel, threads, out, scheduler)
  if done < len(jobs) or scheduler is not None:
    if scheduler is None:
      parallel = min(parallel, len(jobs) - done)
      out.write(f"rlrun: {len(jobs) - done} runs to train, ")
    else:
      out.write("rlrun: training ")
    out.write(f"{parallel} at a time ({threads} TensorFlow thread{'s' if threads > 1 else ''} "
              f"each); logs in {logs or jobs[0].log.parent}\n")
    out.flush()
    pool.run()
  out.write("\n".join(report() if report else summary.table(jobs)) + "\n")
  if pool.stop_signal is not None:
    out.write("rlrun: interrupted; every run checkpointed what it had. Run the same command to "
              "resume (finished runs are skipped).\n")
    return EXIT_INTERRUPTED
  failed = [j for j in pool.jobs if j.state in ("failed", "refused")]
  if failed:
    out.write(f"rlrun: {len(failed)} of {len(pool.jobs)} runs did not finish: " + ", ".join(
        f"{j.name} ({j.log})" for j in failed) + "\n")
    if scheduler is None:
      return 2 if all(j.state == "refused" for j in failed) else 1
  return 0


def train_seeds(config: str, root_dir: Optional[str], gin_params: Sequence[str], seeds_text: str,
                jobs: Optional[int], deterministic: bool = False,
                allow_config_change: bool = False, out: Optional[TextIO] = None) -> int:
  """Runs `rlrun train --seeds`; returns the exit code."""
  out = out or sys.stdout
  seeds = parse_seeds(seeds_text)
  if any(re.match(r"\s*train\.Experiment\.seed\s*=", b) for b in gin_params):
    raise UserError("--seeds sets train.Experiment.seed for each run; drop that --gin-param")
  parallel, threads = check_jobs(jobs, len(seeds))
  config_path = configs.resolve(config)
  root = study_root(root_dir, f"runs/{config_path.stem}")
  runs = [(root / f"seed{seed}", list(gin_params) + [f"train.Experiment.seed = {seed}"] + (
      ["train.Experiment.deterministic = True"] if deterministic else [])) for seed in seeds]
  finished = preflight(config_path, root, runs, allow_config_change)
  children = [Job(f"seed{seed}", run_root,
                  train_args(config, run_root, gin_params, deterministic, allow_config_change)
                  + ["--seed", str(seed)], root / "logs" / f"seed{seed}.log",
                  exit_code=0 if done else None)
              for seed, (run_root, _), done in zip(seeds, runs, finished)]
  return run_jobs(children, parallel, threads, out)
