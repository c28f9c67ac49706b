"""The run directories under some paths, and what each one's evaluations and summaries say."""

import dataclasses
import datetime
import json
import os
import re
import socket
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from rlrun.errors import UserError
from rlrun.train import evaluation

RUN_FILE = "run.json"
# The x axes a curve can be drawn against.
X_AXES = ("step", "env_steps", "wall_time")
EVAL_METRICS = ("AverageReturn", "AverageEpisodeLength")


@dataclasses.dataclass
class RunResults:
  """One run directory: its run.json and its evaluations (eval/results.jsonl)."""
  root: Path
  meta: Dict[str, Any]
  evals: List[Dict[str, Any]]

  @classmethod
  def read(cls, root: Path) -> "RunResults":
    """The run's record and evaluations.

    Raises:
      UserError: naming the file, when one is unreadable or not what rlrun writes.
    """
    meta: Dict[str, Any] = {}
    if (root / RUN_FILE).is_file():
      try:
        meta = json.loads((root / RUN_FILE).read_text())
      except (OSError, ValueError, RecursionError) as e:
        raise UserError(f"{root / RUN_FILE} is unreadable ({e}); restore it or leave that run "
                        "out") from None
      _check_meta(meta, root / RUN_FILE)
    results = Path(evaluation.results_path(str(root)))
    try:
      evals = evaluation.read_results(str(root))
    except (OSError, ValueError, RecursionError) as e:
      raise UserError(f"{results} is unreadable ({e}); restore it or leave that run "
                      "out") from None
    _check_evals(evals, results)
    # Deterministic runs keep the evaluations' times in timings.jsonl beside results.jsonl.
    timings = {}
    timings_path = Path(evaluation.results_path(str(root), evaluation.TIMINGS_FILE))
    if timings_path.is_file():
      try:
        lines = timings_path.read_text().splitlines()
      except (OSError, ValueError) as e:
        raise UserError(f"{timings_path} is unreadable ({e}); restore it or leave that run "
                        "out") from None
      records = []
      for line in lines:
        try:
          records.append(json.loads(line))
        except (ValueError, RecursionError):
          break
      _check_evals(records, timings_path)
      timings = {record["step"]: record for record in records}
    evals = [dict(timings.get(e["step"], {}), **e) for e in evals]
    return cls(root, meta, evals)

  @property
  def config(self) -> str:
    return str(self.meta.get("config", self.root.name))

  @property
  def seed(self) -> Any:
    return self.meta.get("seed")

  @property
  def status(self) -> str:
    """running, finished, interrupted (stopped, or killed without a word), or failed."""
    sessions = self.meta.get("sessions") or []
    if not sessions:
      return "interrupted" if self.evals else "new"
    last = sessions[-1]
    end = last.get("end")
    if end is not None:
      return end["state"]
    alive = _alive(last.get("pid"), last.get("host"))
    if alive is None:
      return f"unknown (on {last.get('host')})"
    return "running" if alive else "interrupted"

  @property
  def step(self) -> Optional[int]:
    """The newest of: where the last session ended, the last evaluation, the last checkpoint."""
    candidates = [e["step"] for e in self.evals[-1:]]
    end = ((self.meta.get("sessions") or [{}])[-1]).get("end") or {}
    if "step" in end:
      candidates.append(end["step"])
    for state in (self.root / "checkpoints").glob("state-*.json"):
      match = re.fullmatch(r"state-(\d+)\.json", state.name)
      if match:
        candidates.append(int(match.group(1)))
    return max(candidates) if candidates else None

  def wall_seconds(self, now: float) -> float:
    """Time spent training over all sessions (a running one counts until `now`)."""
    total = 0.0
    for session in self.meta.get("sessions") or []:
      start = _timestamp(session.get("start_time"))
      end = _timestamp((session.get("end") or {}).get("time"))
      if start is None:
        continue
      if end is None:
        alive = _alive(session.get("pid"), session.get("host"))
        end = now if alive and session is self.meta["sessions"][-1] else None
      if end is None:  # killed: the last evaluation of the session is the last sign of life
        later = [e["wall_time"] for e in self.evals if e.get("wall_time", 0) >= start]
        end = max(later) if later else start
      total += max(0.0, end - start)
    return total

  def eval_returns(self) -> List[float]:
    return [e["AverageReturn"] for e in self.evals if "AverageReturn" in e]

  def binding(self, name: str) -> Optional[str]:
    """The value `name` was bound to: the newest --gin-param, else config.gin's line."""
    pattern = re.compile(rf"^\s*{re.escape(name)}\s*=\s*(.+?)\s*$")
    for session in reversed(self.meta.get("sessions", [])):
      for binding in reversed(session.get("bindings", [])):
        match = pattern.match(binding)
        if match:
          return match.group(1)
    for name_of_file in ("config.gin", "operative_config.gin"):
      path = self.root / name_of_file
      if path.is_file():
        for line in reversed(path.read_text(errors="replace").splitlines()):
          match = pattern.match(line)
          if match:
            return match.group(1)
    return None

  def eval_curve(self, metric: str, x: str) -> Tuple[np.ndarray, np.ndarray]:
    """(x values, metric values) of the evaluations, in step order."""
    evals = sorted(self.evals, key=lambda e: e["step"])
    if x == "env_steps" and any(x in e for e in evals):
      # A distributed run's evaluator records the actors' count once their status files
      # exist: an evaluation before that (step 0) has none.
      evals = [e for e in evals if x in e]
    for field, option in ((metric, "--metric"), (x, "--x")):
      if any(field not in e for e in evals):
        raise UserError(f"the evaluations in {self.root} do not record {field}; choose another "
                        f"{option}")
    xs = np.array([e[x] for e in evals], np.float64)
    if x == "wall_time":
      xs -= xs[0]
    return xs, np.array([e[metric] for e in evals], np.float64)

  def summary_curve(self, tag: str, x: str) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """(x values, values) of a train summary tag (train/ event files); None if absent."""
    from rlrun.analysis.event_files import read_scalars
    points = read_scalars(self.root / "train").get(tag)
    if not points:
      return None
    if x == "env_steps":
      raise UserError(f"train summaries are written against the iteration; plot '{tag}' with "
                      "--x step or --x wall_time")
    steps, times, values = (np.array(column, np.float64) for column in zip(*points))
    return (steps if x == "step" else times - times[0]), values

  def summary_tags(self) -> List[str]:
    from rlrun.analysis.event_files import read_scalars
    return sorted(read_scalars(self.root / "train"))


def _malformed(path: Path, what: str) -> UserError:
  return UserError(f"{path} is malformed ({what}); restore it or leave that run out")


def _check_meta(meta: Any, path: Path) -> None:
  """run.json as rlrun writes it: an object whose sessions are objects, each ending (if it
  has ended) with an object naming its state."""
  if not isinstance(meta, dict):
    raise _malformed(path, f"a JSON {type(meta).__name__}, not an object")
  sessions = meta.get("sessions") or []
  if not isinstance(sessions, list) or not all(isinstance(s, dict) for s in sessions):
    raise _malformed(path, "'sessions' is not a list of objects")
  for number, session in enumerate(sessions, 1):
    bindings = session.get("bindings", [])
    if not isinstance(bindings, list) or not all(isinstance(b, str) for b in bindings):
      raise _malformed(path, f"session {number}'s 'bindings' is not a list of strings")
    if not isinstance(session.get("start_time", ""), (str, type(None))):
      raise _malformed(path, f"session {number}'s 'start_time' is not a string")
    end = session.get("end")
    if end is None:
      continue
    if not (isinstance(end, dict) and isinstance(end.get("state"), str)):
      raise _malformed(path, f"session {number}'s 'end' does not name its state")
    if not isinstance(end.get("time", ""), (str, type(None))):
      raise _malformed(path, f"session {number}'s end time is not a string")
    step = end.get("step", 0)
    if not isinstance(step, int) or isinstance(step, bool):
      raise _malformed(path, f"session {number}'s end step is not an integer")


def _check_evals(evals: List[Any], path: Path) -> None:
  """Each evaluation an object with an integer step and numeric metrics."""
  for number, record in enumerate(evals, 1):
    step = record.get("step") if isinstance(record, dict) else None
    if not isinstance(step, int) or isinstance(step, bool):
      raise _malformed(path, f"line {number} has no integer 'step'")
    for key in (*EVAL_METRICS, "env_steps", "wall_time"):
      value = record.get(key, 0)
      if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _malformed(path, f"line {number}'s {key} is not a number")


def _timestamp(text: Optional[str]) -> Optional[float]:
  if not text:
    return None
  try:
    return datetime.datetime.fromisoformat(text).timestamp()
  except ValueError:
    return None


def _alive(pid: Optional[int], host: Optional[str]) -> Optional[bool]:
  """Whether `pid` is an rlrun process running (None: it ran on another host)."""
  if not pid:
    return False
  if host != socket.gethostname():
    return None
  try:
    command = Path(f"/proc/{pid}/cmdline").read_bytes()
  except OSError:
    return False
  return b"rlrun" in command


def is_run_dir(path: Path) -> bool:
  return (path / RUN_FILE).is_file() or Path(evaluation.results_path(str(path))).is_file()


def _runs_below(path: Path) -> List[Path]:
  """`path` if it is a run directory, else the run directories below it (not inside runs)."""
  found = []
  for parent, children, _ in os.walk(path):
    if is_run_dir(Path(parent)):
      found.append(Path(parent))
      children.clear()
    else:
      children.sort()
  return found


def find_runs(paths: Sequence[str]) -> List[RunResults]:
  """What the runs `find_run_dirs` finds hold, in path order.

  Raises:
    UserError: a path does not exist or holds no run directory, or a run's files are
      unreadable.
  """
  return [RunResults.read(root) for root in find_run_dirs(paths)]


def find_run_dirs(paths: Sequence[str]) -> List[Path]:
  """The run directories named by `paths`, or found anywhere below them, in path order.

  Raises:
    UserError: a path does not exist, or holds no run directory.
  """
  roots: List[Path] = []
  for given in paths:
    path = Path(given).expanduser()
    if not path.exists():
      raise UserError(f"{given} does not exist; give run directories or a directory holding them")
    if not path.is_dir():
      raise UserError(f"{given} is a file; give run directories or a directory holding them")
    found = _runs_below(path)
    if not found:
      raise UserError(f"{given} holds no rlrun run (no run.json or eval/results.jsonl below it)")
    roots += [p for p in found if p not in roots]
  return roots
