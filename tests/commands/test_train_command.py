"""`rlrun train` end to end: the run directory, summaries, resume of a finished run."""

import json

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cli_helpers import rlrun, snapshot
from conftest import SMOKE_ARGS, SMOKE_STEPS


def tags(directory) -> set:
  accumulator = EventAccumulator(str(directory))
  accumulator.Reload()
  return set(accumulator.Tags()["tensors"])


def test_smoke_run_writes_a_complete_run_directory(smoke_run):
  root, result = smoke_run
  assert f"finished at step {SMOKE_STEPS}" in result.stdout
  meta = json.loads((root / "run.json").read_text())
  assert meta["config"] == "dqn_cartpole.gin" and meta["seed"] == 3
  assert {"rlrun", "tensorflow", "dm-reverb"} <= set(meta["versions"])
  assert "--seed 3" in meta["command"]
  assert "train.Experiment.seed = 3" in (root / "config.gin").read_text()
  operative = (root / "operative_config.gin").read_text()
  assert "Experiment.num_iterations = 300" in operative  # gin prints minimal names
  assert "QNetwork.fc_layer_params = (100, 50)" in operative
  for name in ("policy", "collect_policy"):
    assert (root / "policies" / name / "saved_model.pb").is_file()
  assert (root / "checkpoints" / f"ckpt-{SMOKE_STEPS}.index").is_file()
  assert any((root / "replay").iterdir())
  evals = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  assert [e["step"] for e in evals] == [0, 100, 200, 300]
  assert all(e["NumEpisodes"] == 3 for e in evals)


def test_summaries_are_namespaced_per_train_and_eval(smoke_run):
  root, _ = smoke_run
  assert {"losses/loss", "losses/td_loss", "charts/steps_per_sec", "metrics/EnvironmentSteps",
          "metrics/NumberOfEpisodes", "metrics/AverageReturn", "replay/size", "replay/fill",
          "replay/samples_per_insert", "replay/inserts_per_second",
          "replay/samples_per_second", "replay/times_sampled_mean",
          "replay/times_sampled_max", "replay/staleness_mean",
          "replay/staleness_max"} <= tags(root / "train")
  assert {"metrics/AverageReturn", "metrics/AverageEpisodeLength"} <= tags(root / "eval")


def test_progress_is_plain_lines_when_not_a_terminal(smoke_run):
  _, result = smoke_run
  lines = [l for l in result.stdout.splitlines() if l.startswith("step ") and "it/s" in l]
  assert lines and "\r" not in result.stdout
  assert f"step {SMOKE_STEPS}/{SMOKE_STEPS}" in lines[-1]
  assert "native.log" not in result.stderr and "reverb/cc" not in result.stderr
  assert "DeprecationWarning" not in result.stderr


def test_rerun_of_a_finished_run_says_so_and_changes_nothing(smoke_run):
  root, _ = smoke_run
  before = snapshot(root)
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--root-dir", str(root), *SMOKE_ARGS)
  assert result.returncode == 0, result.stderr
  assert "already finished at step 300" in result.stdout
  changed = {k for k in set(before) | set(snapshot(root))
             if before.get(k) != snapshot(root).get(k)}
  # Only the native (C++) log may grow when the command is repeated.
  assert changed <= {"logs/native.log"}


def test_fast_trains_from_the_in_process_replay_in_overlapped_groups(tmp_path):
  """--fast: replay = 'local', 32 iterations per call, overlapped collection, recorded in
  the run's config so a resume keeps them."""
  root = tmp_path / "fast"
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--root-dir", str(root), "--fast",
                 *SMOKE_ARGS)
  assert result.returncode == 0, result.stderr + result.stdout
  assert "train.Experiment.fast = True" in (root / "config.gin").read_text()
  assert (root / "replay" / "local").is_dir()  # the in-process replay's checkpoint
  assert [e["step"] for e in map(json.loads, (root / "eval" / "results.jsonl").read_text()
                                 .splitlines())] == [0, 100, 200, 300]
  again = rlrun("train", "--config", "dqn_cartpole.gin", "--root-dir", str(root), "--fast",
                *SMOKE_ARGS)
  assert again.returncode == 0 and "already finished at step 300" in again.stdout


def test_fast_settings_by_loop_kind():
  from rlrun.builders.off_policy import DqnBuilder
  from rlrun.builders.on_policy import PpoBuilder
  from rlrun.environments import suite_gym
  from rlrun.train.settings import FAST_ITERATIONS_PER_CALL, Settings, fast_learner_threads
  off = Settings(env_fn=suite_gym.load, builder=DqnBuilder(), fast=True)
  assert (off.replay, off.iterations_per_call, off.overlap_collection, off.intra_op_threads) == (
      "local", FAST_ITERATIONS_PER_CALL, True, fast_learner_threads())
  assert off.threads_set_by_fast
  bound = Settings(env_fn=suite_gym.load, builder=DqnBuilder(), fast=True, intra_op_threads=2)
  assert (bound.intra_op_threads, bound.threads_set_by_fast) == (2, False)
  on = Settings(env_fn=suite_gym.load, builder=PpoBuilder(), fast=True, iterations_per_call=3)
  assert (on.replay, on.iterations_per_call, on.overlap_collection, on.intra_op_threads) == (
      "local", 3, False, None)
  plain = Settings(env_fn=suite_gym.load, builder=DqnBuilder())
  assert (plain.replay, plain.overlap_collection, plain.intra_op_threads) == (
      "reverb", False, None)
