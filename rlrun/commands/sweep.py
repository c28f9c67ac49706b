"""`rlrun sweep`: a grid of bindings x seeds, each a normal run dir, ranked at the end."""

import json
import re
import sys
from typing import List, Optional, Sequence, TextIO

from rlrun import configs
from rlrun.commands.study import (check_jobs, check_record, preflight, refuse_directory_at,
                                 run_jobs, study_root, train_args)
from rlrun.errors import UserError
from rlrun.studies import ranking
from rlrun.studies.grid import grid, parse_param
from rlrun.studies.job_pool import Job
from rlrun.studies.seeds import MAX_SEEDS, parse_seeds

SWEEP_FILE = "sweep.json"
RESULTS_FILE = "results.csv"
# The record's fields a rerun must repeat.
_SAME = ("config", "params", "seeds", "gin_params", "deterministic")


def sweep_seeds(text: str) -> List[int]:
  """--seeds of a sweep: a count K (seeds 0..K-1) or a list such as 0-4 or 0,5."""
  if text.strip().isascii() and text.strip().isdigit():
    count = int(text)
    if count < 1:
      raise UserError(f"--seeds {text}: give at least 1 seed per grid point")
    if count > MAX_SEEDS:
      raise UserError(f"--seeds {text}: at most {MAX_SEEDS} seeds per grid point; name fewer")
    return list(range(count))
  return parse_seeds(text)


def sweep(config: str, param_texts: Sequence[str], seeds_text: str, jobs: Optional[int],
          root_dir: Optional[str], gin_params: Sequence[str], rank_by: str,
          deterministic: bool = False, allow_config_change: bool = False,
          out: Optional[TextIO] = None) -> int:
  """Runs `rlrun sweep`; returns the exit code."""
  out = out or sys.stdout
  if not param_texts:
    raise UserError("give at least one --param 'BINDING=[v1, v2, ...]' to sweep")
  params = [parse_param(text) for text in param_texts]
  seeds = sweep_seeds(seeds_text)
  for binding in gin_params:
    name = binding.partition("=")[0].strip()
    if name in dict(params) or re.fullmatch(r"train\.Experiment\.seed", name):
      raise UserError(f"--gin-param {name} is also set by the sweep (--param or --seeds); drop "
                      "the --gin-param")
  points = grid(params)
  parallel, threads = check_jobs(jobs, len(points) * len(seeds))
  config_path = configs.resolve(config)
  root = study_root(root_dir, f"runs/sweep-{config_path.stem}")
  record = {"config": config_path.name, "params": {name: values for name, values in params},
            "seeds": seeds, "gin_params": list(gin_params), "deterministic": deterministic,
            "points": [{"dir": p.name, "bindings": p.as_dict()} for p in points]}
  check_record(root, SWEEP_FILE, record, _SAME, "sweep")
  refuse_directory_at(root / RESULTS_FILE, "sweep writes its results table")
  runs, build = [], []
  for point in points:
    build.append(len(runs))
    for seed in seeds:
      runs.append((root / point.name / f"seed{seed}", list(gin_params) + point.gin_params() + [
          f"train.Experiment.seed = {seed}"] + (
              ["train.Experiment.deterministic = True"] if deterministic else [])))
  finished = preflight(config_path, root, runs, allow_config_change, build)
  root.mkdir(parents=True, exist_ok=True)
  (root / SWEEP_FILE).write_text(json.dumps(record, indent=1) + "\n")
  children, roots = [], {p.name: [] for p in points}
  index = 0
  for point in points:
    for seed in seeds:
      run_root, _ = runs[index]
      children.append(Job(f"{point.name}/seed{seed}", run_root, train_args(
          config, run_root, list(gin_params) + point.gin_params(), deterministic,
          allow_config_change) + ["--seed", str(seed)],
                          root / "logs" / point.name / f"seed{seed}.log",
                          exit_code=0 if finished[index] else None))
      roots[point.name].append(run_root)
      index += 1

  def report() -> List[str]:
    rows = ranking.rank(points, roots, rank_by)
    ranking.write_csv(rows, root / RESULTS_FILE)
    return ranking.table(rows, rank_by) + [f"results: {root / RESULTS_FILE}"]

  return run_jobs(children, parallel, threads, out, report)
