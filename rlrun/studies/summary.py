"""The end-of-study tables: each run's final and best evaluation, and the aggregate over runs."""

from typing import List, Optional, Sequence, Tuple

import numpy as np

from rlrun.analysis import statistics
from rlrun.analysis.run_results import RunResults, is_run_dir
from rlrun.studies.job_pool import Job


def _cell(value: Optional[float]) -> str:
  return "-" if value is None else f"{value:.1f}"


def final_and_best(job: Job) -> Tuple[Optional[int], Optional[float], Optional[float]]:
  """(last evaluated step, final eval return, best eval return) of a job's run dir."""
  if not is_run_dir(job.root):
    return None, None, None
  run = RunResults.read(job.root)
  returns = run.eval_returns()
  if not returns:
    return None, None, None
  return run.evals[-1]["step"], returns[-1], max(returns)


def aggregate_line(finals: Sequence[float]) -> str:
  """'mean M, IQM I [low, high] over N runs' of the final returns."""
  values = np.asarray(finals, np.float64)
  low, high = statistics.bootstrap_interval(values, statistics.iqm)
  return (f"mean {values.mean():.1f}, IQM {float(statistics.iqm(values)):.1f} "
          f"[95% CI {float(low):.1f}, {float(high):.1f}] over {len(values)} runs")


def table(jobs: Sequence[Job]) -> List[str]:
  """Per job: name, state, last evaluated step, final and best eval; then the aggregate."""
  rows = [["run", "state", "step", "final eval", "best eval"]]
  finals = []
  for job in jobs:
    step, final, best = final_and_best(job)
    if final is not None:
      finals.append(final)
    rows.append([job.name, job.state, "-" if step is None else str(step), _cell(final),
                 _cell(best)])
  widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
  lines = ["  ".join(c.rjust(w) if i >= 2 else c.ljust(w)
                     for i, (c, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
  if finals:
    lines.append("final eval: " + aggregate_line(finals))
  return lines
