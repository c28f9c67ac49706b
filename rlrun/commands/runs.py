"""`rlrun runs`: a table of the runs under a directory."""

import json
import sys
import time
from typing import Optional, TextIO

from rlrun.analysis.run_results import RunResults, find_run_dirs
from rlrun.errors import UserError


def _duration(seconds: float) -> str:
  minutes, seconds = divmod(int(round(seconds)), 60)
  hours, minutes = divmod(minutes, 60)
  return f"{hours}:{minutes:02d}:{seconds:02d}"


def _return(value: Optional[float]) -> str:
  return "-" if value is None else f"{value:.1f}"


def runs(directory: str, as_json: bool, out: Optional[TextIO] = None) -> int:
  """Runs `rlrun runs`; returns the exit code."""
  out = out or sys.stdout
  now = time.time()
  rows = []
  for root in find_run_dirs([directory]):
    try:
      run = RunResults.read(root)
    except UserError as error:  # one broken run does not hide the others
      rows.append({"run": str(root), "config": "-", "seed": None, "status": "unreadable",
                   "step": None, "best_eval": None, "last_eval": None, "wall_seconds": 0.0,
                   "error": str(error)})
      sys.stderr.write(f"rlrun: note: {error}\n")
      continue
    returns = run.eval_returns()
    rows.append({"run": str(run.root), "config": run.config, "seed": run.seed,
                 "status": run.status, "step": run.step,
                 "best_eval": max(returns) if returns else None,
                 "last_eval": returns[-1] if returns else None,
                 "wall_seconds": round(run.wall_seconds(now), 1)})
  if as_json:
    out.write(json.dumps(rows, indent=1) + "\n")
    return 0
  header = ["run", "config", "seed", "status", "step", "best eval", "last eval", "wall time"]
  table = [header] + [[r["run"], r["config"], "-" if r["seed"] is None else str(r["seed"]),
                       r["status"], "-" if r["step"] is None else str(r["step"]),
                       _return(r["best_eval"]), _return(r["last_eval"]),
                       _duration(r["wall_seconds"])] for r in rows]
  widths = [max(len(row[i]) for row in table) for i in range(len(header))]
  numeric = {2, 4, 5, 6, 7}
  for row in table:
    out.write("  ".join(cell.rjust(w) if i in numeric else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(row, widths))).rstrip() + "\n")
  return 0
