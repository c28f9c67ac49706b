"""The end of a tuning study: its trials ranked (printed and trials.csv) and best.gin."""

from pathlib import Path
from typing import List, Optional, Sequence

from rlrun.studies.grid import short_names
from rlrun.studies.ranking import write_csv as _write_csv
from rlrun.studies.spaces import Space, literal

TRIALS_FILE = "trials.csv"
BEST_FILE = "best.gin"
_ORDER = {"COMPLETE": 0, "PRUNED": 1, "RUNNING": 2, "WAITING": 2, "FAIL": 3}


def _last_report(trial) -> Optional[float]:
  values = trial.intermediate_values
  return values[max(values)] if values else None


def rows(trials: Sequence, spaces: Sequence[Space]) -> List[dict]:
  """One row per trial: complete ones best first, then pruned ones by their last report."""
  found = []
  for trial in trials:
    last = _last_report(trial)
    found.append({
        "trial": trial.number, "state": trial.state.name.lower(),
        # (Optuna gives a pruned trial its last report as value: that is the next column.)
        "value": trial.value if trial.state.name == "COMPLETE" else None,
        "last_report": last, "last_step": max(trial.intermediate_values, default=None),
        **{s.binding: (literal(trial.params[s.binding]) if s.binding in trial.params else None)
           for s in spaces}})
    value = found[-1]["value"]
    found[-1]["_key"] = (_ORDER.get(trial.state.name, 4),
                         -(value if value is not None else last if last is not None
                           else float("-inf")), trial.number)
  found.sort(key=lambda r: r.pop("_key"))
  for rank, row in enumerate(found, 1):
    row["rank"] = rank
  return found


def write_csv(found: Sequence[dict], path: Path) -> None:
  _write_csv(found, path, first=("rank",))


def table(found: Sequence[dict], spaces: Sequence[Space], objective: str) -> List[str]:
  """The trials as aligned text lines."""
  short = short_names([s.binding for s in spaces])
  header = ["rank", "trial", "state", objective, "last eval (step)"] + [
      short[s.binding] for s in spaces]
  cells = [header]
  for row in found:
    last = ("-" if row["last_report"] is None else
            f"{row['last_report']:.1f} ({row['last_step']})")
    cells.append([str(row["rank"]), str(row["trial"]), row["state"],
                  "-" if row["value"] is None else f"{row['value']:.1f}", last] + [
                      row[s.binding] or "-" for s in spaces])
  widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
  lines = ["  ".join(c.ljust(w) if i == 2 or i >= 5 else c.rjust(w)
                     for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in cells]
  return [f"trials ranked by {objective} eval (mean over each trial's seeds):"] + lines


def write_best_gin(path: Path, config_path: Path, best, bindings: Sequence[str],
                   study_name: str, objective: str, seeds: Sequence[int]) -> None:
  """The config's text followed by the study's own bindings and the best trial's values."""
  text = config_path.read_text()
  lines = [text.rstrip("\n"), "",
           f"# rlrun tune, study '{study_name}': the best trial is {best.number} "
           f"({objective} eval {best.value:.6g}, mean over seeds "
           f"{', '.join(map(str, seeds))}). These bindings override the lines above.",
           *(b.strip() for b in bindings)]
  partial = path.with_name(f".{path.name}.partial")
  partial.write_text("\n".join(lines) + "\n")
  partial.replace(path)
