"""Learning curves of groups of runs: per group an aggregate over its runs and a 95% band."""

import csv
import dataclasses
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from rlrun.analysis import statistics
from rlrun.analysis.run_results import RunResults
from rlrun.errors import UserError

X_LABELS = {"step": "iteration", "env_steps": "environment steps",
            "wall_time": "seconds since the first evaluation"}


@dataclasses.dataclass
class GroupCurve:
  """One group's curve: the aggregate over its runs at each x, and its 95% interval."""
  label: str
  runs: List[RunResults]
  x: np.ndarray
  center: np.ndarray
  low: np.ndarray
  high: np.ndarray


def group_label(run: RunResults, group_by: str) -> str:
  if group_by == "config":
    return run.config
  value = run.binding(group_by)
  if value is None:
    raise UserError(f"{run.root} does not bind {group_by}; group by a binding every run sets, "
                    "or by config")
  return f"{group_by}={value}"


def run_curve(run: RunResults, metric: str, x: str) -> Tuple[np.ndarray, np.ndarray]:
  """A run's curve of `metric`: an evaluation field, else a train summary tag."""
  if any(metric in e for e in run.evals):
    return run.eval_curve(metric, x)
  tags = run.summary_tags()
  matches = [t for t in tags if t == metric] or [t for t in tags if t.endswith("/" + metric)]
  if len(matches) == 1:
    return run.summary_curve(matches[0], x)
  if not run.evals and not tags:
    raise UserError(f"{run.root} has no evaluation results yet (eval/results.jsonl is empty); "
                    "leave it out or wait for its first evaluation")
  if len(matches) > 1:
    raise UserError(f"--metric {metric} matches several summaries in {run.root} "
                    f"({', '.join(matches)}); give the full tag")
  known = sorted({k for e in run.evals for k, v in e.items() if isinstance(v, (int, float))
                  and k not in ("step", "env_steps", "wall_time", "train_step")} | set(tags))
  raise UserError(f"{run.root} has no metric '{metric}'; choose --metric from "
                  f"{', '.join(known)}")


def _common_grid(curves: Sequence[Tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
  """Every x value of any run within the range all runs cover (where the others are
  interpolated); runs evaluated at the same steps keep exactly those."""
  start = max(xs[0] for xs, _ in curves)
  end = min(xs[-1] for xs, _ in curves)
  union = np.unique(np.concatenate([xs for xs, _ in curves]))
  return union[(union >= start) & (union <= end)]


def group_curves(runs: Sequence[RunResults], metric: str, x: str, group_by: str,
                 aggregate: str, seed: int = 0) -> List[GroupCurve]:
  """The curves of the runs grouped by config or by a binding's value, in first-seen order."""
  groups: Dict[str, List[RunResults]] = {}
  for run in runs:
    groups.setdefault(group_label(run, group_by), []).append(run)
  reduce: Callable = statistics.AGGREGATES[aggregate]
  result = []
  for label, members in groups.items():
    curves = [run_curve(run, metric, x) for run in members]
    grid = _common_grid(curves)
    if not len(grid):
      raise UserError(f"the runs of {label} share no {X_LABELS[x]} range; plot them apart")
    values = np.stack([np.interp(grid, xs, ys) for xs, ys in curves])
    low, high = statistics.bootstrap_interval(values, reduce, seed=seed)
    result.append(GroupCurve(label, list(members), grid, reduce(values), low, high))
  return result


def write_csv(curves: Sequence[GroupCurve], path: Path, x: str, aggregate: str) -> None:
  with open(path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["group", x, aggregate, "ci_low", "ci_high", "runs"])
    for curve in curves:
      for i, x_value in enumerate(curve.x):
        writer.writerow([curve.label, f"{x_value:g}", f"{curve.center[i]:.6g}",
                         f"{curve.low[i]:.6g}", f"{curve.high[i]:.6g}", len(curve.runs)])


def draw(curves: Sequence[GroupCurve], path: Path, metric: str, x: str, aggregate: str,
         title: Optional[str] = None) -> None:
  """Writes the figure (format from the suffix: .png, .svg or .pdf), 8 x 5 inches at 100 dpi."""
  import matplotlib
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt
  figure, axes = plt.subplots(figsize=(8, 5), dpi=100)
  for curve in curves:
    n = len(curve.runs)
    label = curve.label if n == 1 else f"{curve.label} ({aggregate} of {n} runs, 95% CI)"
    line, = axes.plot(curve.x, curve.center, label=label)
    if n > 1:
      axes.fill_between(curve.x, curve.low, curve.high, color=line.get_color(), alpha=0.2)
  axes.set_xlabel(X_LABELS[x])
  axes.set_ylabel(metric)
  axes.set_title(title or metric)
  axes.grid(alpha=0.3)
  axes.legend(loc="best", fontsize="small")
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  plt.close(figure)
