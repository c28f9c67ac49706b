"""`rlrun sweep`: 2 points x 2 seeds, interrupted and resumed, ranked; and its checks.

The grid's product and directory names are tested in tests/studies/test_grid.py.
"""

import csv
import json
import signal
import time

import pytest

from cli_helpers import gin, popen, rlrun
from test_user_errors import assert_one_line_error, run_in_process

ITERATIONS = 1500
GRID = ["--param", "agents.DqnAgent.gamma=[0.9, 0.99]"]
# Directories are named after the bindings' last parts and the values as written.
POINTS = ["gamma=0.9", "gamma=0.99"]
ARGS = [*gin(f"train.Experiment.num_iterations={ITERATIONS}"),
        *gin("train.Experiment.eval_interval=500"), *gin("train.Experiment.checkpoint_interval=250"),
        *gin("train.Experiment.policy_save_interval=1500"),
        *gin("train.Experiment.num_eval_episodes=2"),
        *gin("train.Experiment.use_xla=False")]  # no compile: the runs are short


def _results(root):
  return [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]


def test_a_sweep_is_interrupted_resumed_and_ranked(tmp_path):
  root = tmp_path / "sweep"
  command = ["sweep", "--config", "dqn_cartpole.gin", *GRID, "--seeds", "2", "--jobs", "2",
             "--root-dir", str(root), *ARGS]
  runs = [root / point / f"seed{seed}" for point in POINTS for seed in (0, 1)]
  process = popen(*command)
  deadline = time.monotonic() + 300  # hang guard, generous
  while not list(runs[0].glob("checkpoints/state-*.json")):
    assert time.monotonic() < deadline and process.poll() is None, "no checkpoint in time"
    time.sleep(0.1)
  process.send_signal(signal.SIGINT)
  out, err = process.communicate(timeout=300)  # hang guard
  assert process.returncode == 130, out + err
  record = json.loads((root / "sweep.json").read_text())
  assert [p["dir"] for p in record["points"]] == POINTS and record["seeds"] == [0, 1]
  assert not runs[-1].exists()  # not started before the stop

  result = rlrun(*command, timeout=900)  # hang guard
  assert result.returncode == 0, result.stdout + result.stderr
  for run in runs:
    meta = json.loads((run / "run.json").read_text())
    states = [s["end"]["state"] for s in meta["sessions"]]
    assert states in (["finished"], ["interrupted", "finished"]), (run, states)
    # Never trained twice: one evaluation per interval, ending exactly at the step count.
    assert [r["step"] for r in _results(run)] == [0, 500, 1000, 1500], run
  assert any(len(json.loads((r / "run.json").read_text())["sessions"]) == 2 for r in runs)
  # The ranking: per point the mean over its seeds of the final evaluation.
  rows = list(csv.DictReader((root / "results.csv").open()))
  finals = {p: sum(_results(root / p / f"seed{s}")[-1]["AverageReturn"] for s in (0, 1)) / 2
            for p in POINTS}
  assert [r["point"] for r in rows] == sorted(POINTS, key=lambda p: -finals[p])
  for row in rows:
    assert float(row["final"]) == pytest.approx(finals[row["point"]], rel=1e-5)
    assert row["runs"] == "2" and row["of"] == "2"
    assert row["agents.DqnAgent.gamma"] in ("0.9", "0.99")
  assert "ranked by final eval" in result.stdout

  again = rlrun(*command, timeout=300)  # hang guard
  assert again.returncode == 0 and "4 of 4 runs finished already" in again.stdout

  plot = rlrun("plot", str(root), "--group-by", "agents.DqnAgent.gamma", "-o",
               str(tmp_path / "gamma.png"))
  assert plot.returncode == 0, plot.stderr
  assert plot.stdout.startswith("agents.DqnAgent.gamma=0.9: 2 runs")


@pytest.mark.parametrize("args, fragment", [
    ([], "give at least one --param"),
    (["--param", "agents.DqnAgent.gamma=0.9"], "is not a list"),
    (["--param", "agents.DqnAgent.gamma"], "write BINDING=[v1, v2, ...]"),
    (["--param", "agents.DqnAgent.gamma=[]"], "the list needs values"),
    (["--param", "agents.DqnAgent.gamma=[0.9, 0.9]"], "lists a value twice"),
    (["--param", "agents.DqnAgent.gamma=[0.9, (1]"], "unbalanced"),
    (["--param", "agents.DqnAgent.gamma=[0.9]", "--param", "agents.DqnAgent.gamma=[0.8]"],
     "is given twice"),
    (["--param", "agents.DqnAgent.gama=[0.9, 0.99]"], "gama"),
    (["--param", "agents.DqnAgent.gamma=[0.9, 'x']"],
     "gamma=x/seed0: DqnAgent.gamma must be a number in [0, 1], got 'x'"),
    (["--param", "agents.DqnAgent.gamma=[0.9]", "--seeds", "0"], "at least 1 seed"),
    (["--param", "agents.DqnAgent.gamma=[0.9]", "--seeds", "10001"], "at most 10000 seeds"),
    (["--param", "agents.DqnAgent.gamma=[0.9]", "--seeds", "0-10000"], "at most 10000 seeds"),
    (["--param", "agents.DqnAgent.gamma=[0.9]", "--jobs", "0"], "--jobs must be >= 1"),
    (["--param", "agents.DqnAgent.gamma=[0.9]", "--gin-param", "agents.DqnAgent.gamma=0.5"],
     "also set by the sweep"),
    (["--param", "agents.DqnAgent.gamma=[0.9]", "--rank-by", "median"], "Invalid value"),
])
def test_bad_sweeps_start_nothing(capsys, tmp_path, args, fragment):
  root = tmp_path / "sweep"
  code, err = run_in_process(capsys, "sweep", "--config", "dqn_cartpole.gin", "--root-dir",
                             str(root), *args)
  assert_one_line_error(code, err, fragment)
  assert not root.exists()


def test_a_sweep_refuses_a_directory_holding_another_sweep_or_other_files(capsys, tmp_path):
  root = tmp_path / "sweep"
  root.mkdir()
  (root / "sweep.json").write_text(json.dumps({"config": "dqn_cartpole.gin", "params": {
      "agents.DqnAgent.gamma": ["0.5"]}, "seeds": [0], "gin_params": [], "deterministic": False}))
  code, err = run_in_process(capsys, "sweep", "--config", "dqn_cartpole.gin", "--root-dir",
                             str(root), "--param", "agents.DqnAgent.gamma=[0.9]")
  assert_one_line_error(code, err, "holds another sweep", "0.5")
  other = tmp_path / "other"
  other.mkdir()
  (other / "notes.txt").write_text("mine")
  code, err = run_in_process(capsys, "sweep", "--config", "dqn_cartpole.gin", "--root-dir",
                             str(other), "--param", "agents.DqnAgent.gamma=[0.9]")
  assert_one_line_error(code, err, "holds no sweep")
  assert [p.name for p in other.iterdir()] == ["notes.txt"]
