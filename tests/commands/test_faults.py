"""Faults a run must survive: damaged checkpoints, a kill mid-save, signals before the loop, hangs.

Each case damages a copy of one finished run (checkpoints at 100, 200 and 300) and
reruns it with num_iterations raised to 400.
"""

import json
import re
import shutil
import signal
import subprocess
import time

import pytest

from cli_helpers import gin, popen, rlrun, snapshot
from rlrun.train.checkpointer import committed_numbers

STEPS = 300
SETTINGS = [*gin("train.Experiment.checkpoint_interval=100"),
            *gin("train.Experiment.eval_interval=300"),
            *gin("train.Experiment.policy_save_interval=300"),
            *gin("train.Experiment.num_eval_episodes=2")]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  root = tmp_path_factory.mktemp("faults") / "run"
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--root-dir", str(root),
                 *gin(f"train.Experiment.num_iterations={STEPS}"), *SETTINGS)
  assert result.returncode == 0, result.stderr
  assert committed_numbers(str(root / "checkpoints")) == [100, 200, 300]
  return root


@pytest.fixture
def run(finished, tmp_path):
  copy = tmp_path / "run"
  shutil.copytree(finished, copy)
  return copy


def resume(root, steps=400, **kwargs):
  return rlrun("train", "--config", "dqn_cartpole.gin", "--root-dir", str(root),
               *gin(f"train.Experiment.num_iterations={steps}"), *SETTINGS, **kwargs)


def manifest_items(root, number) -> int:
  manifest = json.loads((root / "checkpoints" / f"replay-{number}" / "manifest.json").read_text())
  return manifest["items"]["uniform_table"]


def restored(out):
  match = re.search(r"resuming from step (\d+) of \d+ \((\d+) replay items restored\)", out)
  assert match, out
  return int(match.group(1)), int(match.group(2))


def truncate(path):
  path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


@pytest.mark.parametrize("damage", ["data", "index", "replay chunks", "replay items",
                                    "state file"])
def test_an_unreadable_newest_checkpoint_is_set_aside_and_the_older_one_resumes(run, damage):
  checkpoints = run / "checkpoints"
  target = {"data": checkpoints / "ckpt-300.data-00000-of-00001",
            "index": checkpoints / "ckpt-300.index",
            "replay chunks": checkpoints / "replay-300" / "chunks.tfrecord",
            "replay items": checkpoints / "replay-300" / "items.tfrecord",
            "state file": checkpoints / "state-300.json"}[damage]
  truncate(target)
  result = resume(run)
  assert result.returncode == 0, result.stderr
  assert re.search(r"rlrun: passed over ckpt-300 \(.+\); set aside in .*checkpoints/corrupt; "
                   r"resuming from ckpt-200", result.stdout), result.stdout
  assert restored(result.stdout) == (200, manifest_items(run, 200))
  assert (checkpoints / "corrupt" / target.name).exists() or (
      checkpoints / "corrupt" / "replay-300" / target.name).exists()
  assert committed_numbers(str(checkpoints))[-1] == 400


def test_a_kill_between_the_replay_and_the_agent_commit_resumes_the_older_pair(run):
  # What a kill -9 after the replay archive and the TF files, before the state file, leaves.
  (run / "checkpoints" / "state-300.json").unlink()
  result = resume(run)
  assert result.returncode == 0, result.stderr
  assert "ckpt-300 (incomplete" in result.stdout
  assert restored(result.stdout) == (200, manifest_items(run, 200))


def test_no_readable_checkpoint_stops_with_one_line_and_changes_nothing(run):
  for state in (run / "checkpoints").glob("state-*.json"):
    state.unlink()
  before = snapshot(run)
  result = resume(run)
  assert result.returncode == 2
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("rlrun: error: no checkpoint in "), result.stderr
  assert "ckpt-300: incomplete" in lines[0] and "ckpt-100: incomplete" in lines[0]
  assert snapshot(run) == before


def test_sigterm_during_the_initial_collection_checkpoints_it_and_resumes(tmp_path):
  root = tmp_path / "run"
  args = ["train", "--config", "dqn_cartpole.gin", "--root-dir", str(root),
          *gin("train.Experiment.num_iterations=50"),
          *gin("train.Experiment.initial_collect_steps=30000"),
          *gin("train.Experiment.eval_interval=50"), *gin("train.Experiment.num_eval_episodes=2")]
  process = popen(*args)
  line = process.stdout.readline()
  assert line.startswith("rlrun: training"), line + process.stderr.read()
  time.sleep(1.0)
  process.send_signal(signal.SIGTERM)
  out, err = process.communicate(timeout=300)  # a hang guard, not a timing check
  assert process.returncode == 130, err
  assert "interrupted by SIGTERM at step 0; checkpoint saved" in out
  assert committed_numbers(str(root / "checkpoints")) == [0]
  collected = manifest_items(root, 0)
  assert 0 < collected < 30000
  assert not (root / "eval" / "results.jsonl").exists()  # the loop never started
  result = rlrun(*args)
  assert result.returncode == 0, result.stderr
  assert f"({collected} replay items restored)" in result.stdout
  state = json.loads((root / "checkpoints" / "state-50.json").read_text())
  assert state["initial_steps"] == 30000


def test_a_finished_run_with_actors_says_so_instead_of_waiting(run):
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--root-dir", str(run), "--actors", "1",
                 *gin(f"train.Experiment.num_iterations={STEPS}"), *SETTINGS,
                 timeout=120)  # a hang guard, not a timing check
  assert result.returncode == 0, result.stderr
  assert "already finished at step 300" in result.stdout


@pytest.fixture
def small_disk(tmp_path):
  """A 64 MiB file system of its own, to fill up."""
  mount = tmp_path / "disk"
  mount.mkdir()
  subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64M", "tmpfs", str(mount)], check=True)
  yield mount
  subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_stops_with_one_line_and_the_run_resumes_once_there_is_room(small_disk):
  root = small_disk / "run"
  args = ["train", "--config", "dqn_cartpole.gin", "--root-dir", str(root), *SETTINGS]
  process = popen(*args, *gin("train.Experiment.num_iterations=100000"))
  deadline = time.time() + 300  # a hang guard, not a timing check
  while not committed_numbers(str(root / "checkpoints")) and time.time() < deadline:
    assert process.poll() is None, process.communicate()
    time.sleep(0.2)
  filler = small_disk / "filler"
  with open(filler, "wb") as f:  # every free byte
    try:
      while True:
        f.write(b"\0" * (1 << 20))
        f.flush()
    except OSError:
      pass
  out, err = process.communicate(timeout=300)  # a hang guard, not a timing check
  assert process.returncode == 2, out + err
  lines = [l for l in err.splitlines() if l.strip()]
  assert len(lines) == 1 and lines[0].startswith("rlrun: error: cannot write"), err
  assert "no space left" in lines[0] and "rerun the same command to resume" in lines[0]
  kept = committed_numbers(str(root / "checkpoints"))
  assert kept
  filler.unlink()
  result = rlrun(*args, *gin(f"train.Experiment.num_iterations={kept[-1] + 100}"))
  assert result.returncode == 0, result.stderr
  assert restored(result.stdout)[0] == kept[-1]


def test_an_environment_whose_episodes_never_end_is_capped_with_a_warning(tmp_path):
  root = tmp_path / "run"
  result = rlrun("train", "--config", "sac_pendulum.gin", "--root-dir", str(root),
                 *gin("suite_gym.load.max_episode_steps=0"),  # Pendulum never terminates
                 *gin("train.Experiment.num_iterations=10"),
                 *gin("train.Experiment.initial_collect_steps=100"),
                 *gin("train.Experiment.num_eval_episodes=1"),
                 timeout=600)  # a hang guard, not a timing check
  assert result.returncode == 0, result.stderr
  assert result.stderr.count("rlrun: warning: the environment sets no episode step limit; "
                             "using 10000") == 1
  evaluations = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  assert [e["AverageEpisodeLength"] for e in evaluations] == [10000.0, 10000.0]
