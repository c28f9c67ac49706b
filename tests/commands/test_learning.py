"""DQN learns CartPole with the tutorial's hyperparameters (the shipped config as is)."""

import json

import pytest

from cli_helpers import rlrun


@pytest.mark.slow
def test_dqn_cartpole_reaches_195_within_its_20000_iterations(tmp_path):
  root = tmp_path / "run"
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--root-dir", str(root), timeout=900)
  assert result.returncode == 0, result.stderr
  evals = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  assert evals[-1]["step"] == 20000 and len(evals) == 21
  best = max(e["AverageReturn"] for e in evals)
  assert best >= 195, [(e["step"], e["AverageReturn"]) for e in evals]
