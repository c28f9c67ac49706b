"""`rlrun runs`: the table of runs, their status, step, evaluations and time."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rlrun import cli

from run_dirs import make_run


def rlrun_out(capsys, *args):
  """(exit code, stdout) of the command run in this process."""
  with pytest.raises(SystemExit) as exit_info:
    cli.main(list(args))
  return exit_info.value.code, capsys.readouterr().out


def _sessions(root: Path, *sessions) -> None:
  meta = json.loads((root / "run.json").read_text())
  meta["sessions"] = list(sessions)
  (root / "run.json").write_text(json.dumps(meta))


def test_runs_lists_status_step_evals_and_time(capsys, tmp_path):
  here = socket.gethostname()
  alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "rlrun"])
  try:
    finished = make_run(tmp_path / "a", "a.gin", 0, {0: 5.0, 10: 50.0, 20: 30.0})
    _sessions(finished,
              {"start_time": "2026-01-01T00:00:00+00:00", "pid": 1, "host": here,
               "end": {"state": "interrupted", "step": 10, "time": "2026-01-01T00:01:00+00:00"}},
              {"start_time": "2026-01-01T01:00:00+00:00", "pid": 2, "host": here,
               "end": {"state": "finished", "step": 20, "time": "2026-01-01T01:00:30+00:00"}})
    running = make_run(tmp_path / "b", "b.gin", 1, {0: 1.0})
    _sessions(running, {"start_time": "2026-01-01T00:00:00+00:00", "pid": alive.pid,
                        "host": here})
    killed = make_run(tmp_path / "c", "c.gin", 2, {0: 1.0})
    (killed / "checkpoints").mkdir()
    (killed / "checkpoints" / "state-7.json").write_text("{}")
    _sessions(killed, {"start_time": "1970-01-01T00:16:40+00:00", "pid": 2 ** 22 + 1,
                       "host": here})  # 1000 s after the epoch; its evaluation at 1000 s
    elsewhere = make_run(tmp_path / "d", "d.gin", 3, {0: 1.0})
    _sessions(elsewhere, {"start_time": "2026-01-01T00:00:00+00:00", "pid": 5,
                          "host": "another-host"})
    code, out = rlrun_out(capsys, "runs", str(tmp_path), "--json")
    rows = {Path(r["run"]).name: r for r in json.loads(out)}
  finally:
    alive.kill()
  assert code == 0
  assert rows["a"] == {"run": str(finished), "config": "a.gin", "seed": 0, "status": "finished",
                       "step": 20, "best_eval": 50.0, "last_eval": 30.0, "wall_seconds": 90.0}
  assert rows["b"]["status"] == "running" and rows["b"]["wall_seconds"] > 0
  assert (rows["c"]["status"], rows["c"]["step"], rows["c"]["wall_seconds"]) == (
      "interrupted", 7, 0.0)
  assert rows["d"]["status"] == "unknown (on another-host)"


def test_runs_table_of_a_real_run(capsys, smoke_run):
  root, _ = smoke_run
  code, out = rlrun_out(capsys, "runs", str(root.parent))
  assert code == 0
  header, row = out.splitlines()
  assert header.split() == ["run", "config", "seed", "status", "step", "best", "eval", "last",
                            "eval", "wall", "time"]
  results = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  returns = [r["AverageReturn"] for r in results]
  assert row.split()[:7] == [str(root), "dqn_cartpole.gin", "3", "finished", "300",
                             f"{max(returns):.1f}", f"{returns[-1]:.1f}"]


def test_an_unreadable_run_is_listed_as_such_and_the_others_still_are(capsys, tmp_path):
  make_run(tmp_path / "a", "a.gin", 0, {0: 1.0, 10: 5.0})
  bad = make_run(tmp_path / "b", "b.gin", 1, {0: 2.0})
  (bad / "run.json").write_text("[]")
  make_run(tmp_path / "c", "c.gin", 2, {0: 3.0})
  with pytest.raises(SystemExit) as exit_info:
    cli.main(["runs", str(tmp_path), "--json"])
  captured = capsys.readouterr()
  assert exit_info.value.code == 0
  rows = json.loads(captured.out)
  assert [Path(r["run"]).name for r in rows] == ["a", "b", "c"]
  assert [r["status"] for r in rows][1] == "unreadable"
  assert rows[0]["best_eval"] == 5.0 and rows[2]["last_eval"] == 3.0
  assert "not an object" in rows[1]["error"]
  assert captured.err.startswith("rlrun: note: ") and "b/run.json is malformed" in captured.err
