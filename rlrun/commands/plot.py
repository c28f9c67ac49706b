"""`rlrun plot`: learning curves of one run, or of groups of runs with 95% bands."""

import os
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence, TextIO

from rlrun.analysis import curves as curves_lib
from rlrun.analysis.run_results import find_runs
from rlrun.errors import UserError

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def _checked_output(option: str, given: str, suffixes: Optional[Sequence[str]] = None) -> Path:
  """The file `given` names; refuses a directory, a wrong suffix or an unwritable place.

  Nothing is created here: a run that fails later leaves no trace.
  """
  target = Path(given).expanduser().absolute()
  if target.is_dir():
    raise UserError(f"{option} {given} is a directory; pass a file name such as "
                    f"{target / ('plot' + (suffixes or ('.csv',))[0])}")
  if suffixes and target.suffix.lower() not in suffixes:
    raise UserError(f"{option} {given}: use a {', '.join(suffixes[:-1])} or {suffixes[-1]} "
                    "file name")
  existing = target.parent
  while not existing.exists():
    existing = existing.parent
  if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK) or (
      target.exists() and not os.access(target, os.W_OK)):
    reason = "not a directory" if not existing.is_dir() else "permission denied"
    raise UserError(f"cannot write {option} {given} ({existing}: {reason}); choose a writable "
                    "place")
  return target


def _write_atomically(target: Path, write: Callable[[Path], None]) -> None:
  """Writes through a partial file renamed at the end: never a half-written target."""
  partial = target.with_name(f".{target.stem}.partial{target.suffix}")
  try:
    target.parent.mkdir(parents=True, exist_ok=True)
    write(partial)
    os.replace(partial, target)
  except OSError as e:
    partial.unlink(missing_ok=True)
    raise UserError(f"cannot write {target}: {e.strerror or e}; choose a writable place") from None


def plot(paths: Sequence[str], output: str, x: str, metric: str, group_by: str, aggregate: str,
         csv_path: Optional[str], out: Optional[TextIO] = None) -> int:
  """Runs `rlrun plot`; returns the exit code."""
  out = out or sys.stdout
  if not paths:
    raise UserError("give at least one run directory (or a directory holding runs)")
  figure = _checked_output("--output", output, FIGURE_SUFFIXES)
  table = _checked_output("--csv", csv_path) if csv_path else None
  runs = find_runs(paths)
  groups = curves_lib.group_curves(runs, metric, x, group_by, aggregate)
  _write_atomically(figure, lambda p: curves_lib.draw(groups, p, metric, x, aggregate))
  if table is not None:
    _write_atomically(table, lambda p: curves_lib.write_csv(groups, p, x, aggregate))
  for curve in groups:
    n = len(curve.runs)
    last = f"{curve.center[-1]:.1f}" + (f" [{curve.low[-1]:.1f}, {curve.high[-1]:.1f}]"
                                        if n > 1 else "")
    out.write(f"{curve.label}: {n} run{'s' if n > 1 else ''}, {metric} at "
              f"{curves_lib.X_LABELS[x]} {curve.x[-1]:g}: {last}"
              f"{f' ({aggregate}, 95% CI)' if n > 1 else ''}\n")
  out.write(f"wrote {figure}" + (f" and {table}" if table else "") + "\n")
  return 0
