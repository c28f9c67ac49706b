"""Interrupted training resumes: SIGTERM checkpoints, SIGKILL loses only the tail."""

import json
import re
import signal
import time

import pytest

from cli_helpers import gin, popen, rlrun
from rlrun.train.checkpointer import committed_numbers

STEPS = 2400


def checkpoint_steps(root) -> list:
  """The committed checkpoints (their state file written last)."""
  return committed_numbers(str(root / "checkpoints"))


def wait_for_checkpoint_after(root, step, process, timeout=180):
  deadline = time.time() + timeout
  while time.time() < deadline:
    assert process.poll() is None, process.communicate()
    if any(s > step for s in checkpoint_steps(root)):
      return
    time.sleep(0.2)
  raise AssertionError(f"no checkpoint after step {step} within {timeout}s")


@pytest.mark.slow
def test_sigterm_then_sigkill_then_resume_to_the_exact_step(tmp_path):
  root = tmp_path / "run"
  args = ["train", "--config", "dqn_cartpole.gin", "--root-dir", str(root),
          *gin(f"train.Experiment.num_iterations={STEPS}"),
          *gin("train.Experiment.checkpoint_interval=400"),
          *gin("train.Experiment.eval_interval=1200"),
          *gin("train.Experiment.policy_save_interval=1200"),
          *gin("train.Experiment.num_eval_episodes=2")]

  first = popen(*args)
  wait_for_checkpoint_after(root, 0, first)
  first.send_signal(signal.SIGTERM)
  out, err = first.communicate(timeout=120)
  assert first.returncode == 130, err
  stopped_at = int(re.search(r"interrupted by SIGTERM at step (\d+)", out).group(1))
  assert checkpoint_steps(root)[-1] == stopped_at  # the stop itself was checkpointed

  second = popen(*args)
  wait_for_checkpoint_after(root, stopped_at, second)
  second.kill()
  second.communicate(timeout=60)
  killed_after = checkpoint_steps(root)[-1]
  assert killed_after > stopped_at

  third = rlrun(*args)
  assert third.returncode == 0, third.stderr
  restored = re.search(r"resuming from step (\d+) of 2400 \((\d+) replay items restored\)",
                       third.stdout)
  assert restored and int(restored.group(1)) == killed_after
  assert int(restored.group(2)) > 100  # the replay came back, not just the initial collect
  assert f"finished at step {STEPS}" in third.stdout
  state = json.loads((root / "checkpoints" / f"state-{STEPS}.json").read_text())
  # The 100 random initial steps, then one collect step per iteration, checkpointed
  # together with the train step: exact.
  assert state["metrics"]["EnvironmentSteps"]["count"] == 100 + STEPS
  assert len(json.loads((root / "run.json").read_text())["sessions"]) == 3
