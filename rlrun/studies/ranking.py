"""A sweep's results: per grid point, its runs' final, best and area-under-curve evals, ranked."""

import csv
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from rlrun.analysis.run_results import RunResults, is_run_dir
from rlrun.studies.grid import Point

METRICS = ("final", "best", "auc")


def run_metrics(root: Path) -> Optional[Dict[str, float]]:
  """final, best and auc (the mean return over the evaluated span: the trapezoid area under
  AverageReturn against the step, divided by the span) of one run; None before any eval."""
  if not is_run_dir(root):
    return None
  run = RunResults.read(root)
  evals = sorted((e for e in run.evals if "AverageReturn" in e), key=lambda e: e["step"])
  if not evals:
    return None
  steps = np.array([e["step"] for e in evals], np.float64)
  returns = np.array([e["AverageReturn"] for e in evals], np.float64)
  span = steps[-1] - steps[0]
  auc = float(np.sum((returns[1:] + returns[:-1]) / 2 * np.diff(steps)) / span) if span else (
      float(returns[0]))
  return {"final": float(returns[-1]), "best": float(returns.max()), "auc": auc}


def rank(points: Sequence[Point], roots: Dict[str, List[Path]], metric: str) -> List[dict]:
  """One row per grid point (means over its seeds' runs), best first by `metric`.

  Points whose runs have no evaluation yet come last, with empty values.
  """
  rows = []
  for point in points:
    found = [m for m in (run_metrics(r) for r in roots[point.name]) if m is not None]
    row = {"point": point.name, **point.as_dict(), "runs": len(found),
           "of": len(roots[point.name])}
    for name in METRICS:
      row[name] = float(np.mean([m[name] for m in found])) if found else None
    rows.append(row)
  rows.sort(key=lambda r: (r[metric] is None, -(r[metric] or 0.0)))
  for position, row in enumerate(rows, 1):
    row["rank"] = position
  return rows


def write_csv(rows: Sequence[dict], path: Path, first: Sequence[str] = ("rank", "point")) -> None:
  """The rows as CSV (the `first` columns leading), replacing `path` atomically."""
  if not rows:
    return
  columns = list(first) + [k for k in rows[0] if k not in first]
  partial = path.with_name(f".{path.name}.partial")
  with open(partial, "w", newline="") as f:
    writer = csv.DictWriter(f, columns)
    writer.writeheader()
    for row in rows:
      writer.writerow({k: ("" if v is None else f"{v:.6g}" if isinstance(v, float) else v)
                       for k, v in row.items()})
  partial.replace(path)


def table(rows: Sequence[dict], metric: str) -> List[str]:
  """The ranking as aligned text lines (means over seeds)."""
  header = ["rank", "point", "runs", "final", "best", "auc"]
  cells = [header] + [[str(r["rank"]), r["point"], f"{r['runs']}/{r['of']}"] + [
      "-" if r[m] is None else f"{r[m]:.1f}" for m in METRICS] for r in rows]
  widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
  lines = ["  ".join(c.rjust(w) if i != 1 else c.ljust(w)
                     for i, (c, w) in enumerate(zip(row, widths))).rstrip() for row in cells]
  return [f"ranked by {metric} eval (mean over each point's seeds):"] + lines
