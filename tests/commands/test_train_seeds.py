"""`rlrun train --seeds`: one run per seed, J at a time, interrupted and resumed, summarised."""

import json
import re
import signal
import time

import numpy as np

from cli_helpers import gin, popen, rlrun
from rlrun.analysis import statistics

ITERATIONS = 3000
ARGS = [*gin(f"train.Experiment.num_iterations={ITERATIONS}"),
        *gin("train.Experiment.eval_interval=1000"), *gin("train.Experiment.checkpoint_interval=500"),
        *gin("train.Experiment.policy_save_interval=3000"),
        *gin("train.Experiment.num_eval_episodes=3")]


def _results(root):
  return [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]


def _wait_for_checkpoints(roots, timeout_s=240):  # hang guard, generous
  deadline = time.monotonic() + timeout_s
  while time.monotonic() < deadline:
    if all(list((r / "checkpoints").glob("state-*.json")) for r in roots):
      return
    time.sleep(0.1)
  raise AssertionError("the runs wrote no checkpoint in time")


def test_seeds_are_interrupted_together_resumed_and_summarised(tmp_path):
  study = tmp_path / "study"
  command = ["train", "--config", "dqn_cartpole.gin", "--seeds", "0-1", "--jobs", "2",
             "--root-dir", str(study), *ARGS]
  roots = [study / "seed0", study / "seed1"]
  process = popen(*command)
  _wait_for_checkpoints(roots)
  process.send_signal(signal.SIGINT)
  out, err = process.communicate(timeout=240)  # hang guard
  assert process.returncode == 130, out + err
  assert "interrupted; every run checkpointed" in out
  stopped = {r.name: json.loads((r / "run.json").read_text())["sessions"][-1]["end"]
             for r in roots}
  assert all(end["state"] == "interrupted" and 0 < end["step"] < ITERATIONS
             for end in stopped.values()), stopped

  result = rlrun(*command, timeout=600)  # hang guard
  assert result.returncode == 0, result.stdout + result.stderr
  for root, seed in zip(roots, (0, 1)):
    meta = json.loads((root / "run.json").read_text())
    assert meta["seed"] == seed
    # Two sessions: the second resumed where the first stopped, and finished.
    assert [s["end"]["state"] for s in meta["sessions"]] == ["interrupted", "finished"]
    assert meta["sessions"][1]["end"]["step"] == ITERATIONS
    assert [r["step"] for r in _results(root)] == [0, 1000, 2000, 3000]
  # The table: each run's final and best eval, then the aggregate over the final ones.
  finals = []
  for root in roots:
    returns = [r["AverageReturn"] for r in _results(root)]
    finals.append(returns[-1])
    assert re.search(rf"^{root.name}\s+finished\s+{ITERATIONS}\s+{returns[-1]:.1f}\s+"
                     rf"{max(returns):.1f}$", result.stdout, re.M), result.stdout
  low, high = statistics.bootstrap_interval(np.array(finals), statistics.iqm)
  assert (f"final eval: mean {np.mean(finals):.1f}, IQM {statistics.iqm(np.array(finals)):.1f} "
          f"[95% CI {low:.1f}, {high:.1f}] over 2 runs") in result.stdout

  # A third time: nothing is trained again.
  again = rlrun(*command, timeout=300)  # hang guard
  assert again.returncode == 0
  assert "2 of 2 runs finished already: seed0, seed1" in again.stdout
  assert all(len(json.loads((r / "run.json").read_text())["sessions"]) == 2 for r in roots)
