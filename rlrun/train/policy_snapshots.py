"""Policy snapshots: policies/step_<N> (copies of the greedy policy at each export, the newest
K kept) and policies/best (the greedy policy of the best evaluation so far).

Both are replaced atomically: a directory is complete or absent, whatever interrupts.
"""

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional

BEST = "best"
BEST_FILE = "rlrun_best.json"
_STEP = re.compile(r"^step_(\d+)$")


def replace_dir(target: Path, fill) -> None:
  """Builds `target` beside it with `fill(partial_path)`, then swaps it in."""
  partial = target.with_name(f".{target.name}.partial")
  old = target.with_name(f".{target.name}.old")
  for leftover in (partial, old):
    shutil.rmtree(leftover, ignore_errors=True)
  fill(partial)
  if target.exists():
    os.replace(target, old)
  os.replace(partial, target)
  shutil.rmtree(old, ignore_errors=True)


def snapshot_steps(policies_dir: Path) -> List[int]:
  """The steps of the policies/step_<N> snapshots, oldest first."""
  if not policies_dir.is_dir():
    return []
  return sorted(int(m.group(1)) for m in (_STEP.match(p.name) for p in policies_dir.iterdir())
                if m and (policies_dir / m.group(0)).is_dir())


def snapshot(policies_dir: Path, step: int, keep: int, source: str = "policy") -> None:
  """Copies policies/<source> to policies/step_<step>; keeps the newest `keep` snapshots."""
  if keep < 1 or not (policies_dir / source).is_dir():
    return
  replace_dir(policies_dir / f"step_{step}",
              lambda partial: shutil.copytree(policies_dir / source, partial))
  for old in snapshot_steps(policies_dir)[:-keep]:
    shutil.rmtree(policies_dir / f"step_{old}", ignore_errors=True)


class BestPolicy:
  """Exports the greedy policy to policies/best when an evaluation beats all earlier ones.

  Args:
    policies_dir: the run's policies/.
    saver: the greedy policy's PolicySaver.
    results: the evaluations so far (a resumed run's, from its checkpoint).
  """

  def __init__(self, policies_dir: Path, saver, results: List[Dict[str, Any]]):
    self.policies_dir = Path(policies_dir)
    self.saver = saver
    returns = [r["AverageReturn"] for r in results if "AverageReturn" in r]
    self.best: Optional[float] = max(returns) if returns else None

  def offer(self, record: Dict[str, Any]) -> bool:
    """Exports now when `record` is the best evaluation yet; returns whether it did."""
    value = record["AverageReturn"]
    if self.best is not None and not value > self.best:
      return False
    self.best = value

    def fill(partial: Path) -> None:
      self.saver.save(str(partial))
      (partial / BEST_FILE).write_text(json.dumps(
          {"step": record["step"], "AverageReturn": value}) + "\n")

    replace_dir(self.policies_dir / BEST, fill)
    return True
