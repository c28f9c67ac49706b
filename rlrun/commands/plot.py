"""`rlrun plot`: learning curves of one run, or of groups of runs with 95% bands."""

import sys
from typing import Optional, Sequence, TextIO

from rlrun.analysis import curves as curves_lib
from rlrun.analysis.run_results import find_runs
from rlrun.commands.output_files import checked_output, write_atomically
from rlrun.errors import UserError

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def plot(paths: Sequence[str], output: str, x: str, metric: str, group_by: str, aggregate: str,
         csv_path: Optional[str], out: Optional[TextIO] = None) -> int:
  """Runs `rlrun plot`; returns the exit code."""
  out = out or sys.stdout
  if not paths:
    raise UserError("give at least one run directory (or a directory holding runs)")
  figure = checked_output("--output", output, FIGURE_SUFFIXES)
  table = checked_output("--csv", csv_path, (".csv",), "curves") if csv_path else None
  runs = find_runs(paths)
  groups = curves_lib.group_curves(runs, metric, x, group_by, aggregate)
  write_atomically(figure, lambda p: curves_lib.draw(groups, p, metric, x, aggregate))
  if table is not None:
    write_atomically(table, lambda p: curves_lib.write_csv(groups, p, x, aggregate))
  for curve in groups:
    n = len(curve.runs)
    last = f"{curve.center[-1]:.1f}" + (f" [{curve.low[-1]:.1f}, {curve.high[-1]:.1f}]"
                                        if n > 1 else "")
    out.write(f"{curve.label}: {n} run{'s' if n > 1 else ''}, {metric} at "
              f"{curves_lib.X_LABELS[x]} {curve.x[-1]:g}: {last}"
              f"{f' ({aggregate}, 95% CI)' if n > 1 else ''}\n")
  out.write(f"wrote {figure}" + (f" and {table}" if table else "") + "\n")
  return 0
