"""`rlrun tune`: an Optuna study that prunes, is interrupted and resumed, and whose best.gin
reproduces its best trial; and the mistakes it refuses before writing anything."""

import csv
import json
import signal
import sys
import time

import optuna
import pytest

from cli_helpers import gin, popen, rlrun
from test_user_errors import assert_one_line_error, run_in_process

LR = "tf.keras.optimizers.Adam.learning_rate"
ITERATIONS = 1500
ARGS = [*gin(f"train.Experiment.num_iterations={ITERATIONS}"),
        *gin("train.Experiment.eval_interval=300"), *gin("train.Experiment.checkpoint_interval=300"),
        *gin("train.Experiment.policy_save_interval=1500"),
        *gin("train.Experiment.num_eval_episodes=2")]


def _returns(run):
  return [json.loads(line)["AverageReturn"]
          for line in (run / "eval" / "results.jsonl").read_text().splitlines()]


def _sessions(run):
  return [s["end"]["state"] for s in json.loads((run / "run.json").read_text())["sessions"]]


@pytest.mark.slow
def test_a_study_prunes_resumes_and_its_best_gin_reproduces_the_best_trial(tmp_path):
  root = tmp_path / "tune"
  command = ["tune", "--config", "dqn_cartpole.gin", "--trials", "6", "--jobs", "1",
             "--space", f"{LR}=loguniform(1e-6, 3e-2)", "--pruner-startup", "2",
             "--deterministic", "--root-dir", str(root), *ARGS]
  process = popen(*command)
  # Stopped once trial 0 has evaluated at step 0, i.e. early in its loop (stopped at its first
  # checkpoint instead, it could reach its end before the signal: it would then be finished).
  first_eval = root / "trial0" / "seed0" / "eval" / "results.jsonl"
  deadline = time.monotonic() + 300  # hang guard, generous
  while not (first_eval.exists() and first_eval.read_text().endswith("\n")):
    assert time.monotonic() < deadline and process.poll() is None, "no evaluation in time"
    time.sleep(0.1)
  process.send_signal(signal.SIGINT)
  out, err = process.communicate(timeout=300)  # hang guard
  assert process.returncode == 130, out + err
  assert "Run the same command to resume" in out and not (root / "trial1").exists()
  assert _sessions(root / "trial0" / "seed0") == ["interrupted"]

  result = rlrun(*command, timeout=1200)  # hang guard
  assert result.returncode == 0, result.stdout + result.stderr
  assert "resuming 1 interrupted trial: 0" in result.stdout
  assert _sessions(root / "trial0" / "seed0") == ["interrupted", "finished"]

  study = optuna.load_study(study_name="tune", storage=f"sqlite:///{root / 'study.db'}")
  states = [t.state.name for t in study.trials]
  assert len(states) == 6 and set(states) <= {"COMPLETE", "PRUNED"}, states
  assert "PRUNED" in states and states[:2] == ["COMPLETE", "COMPLETE"]  # 2 before any pruning
  for trial in study.trials:
    run = root / f"trial{trial.number}" / "seed0"
    returns = _returns(run)
    if trial.state.name == "COMPLETE":
      assert trial.value == pytest.approx(returns[-1]) and len(returns) == 6
    else:  # stopped as on Ctrl-C once its eval fell below the completed trials' median
      step = max(trial.intermediate_values)
      assert step > 0 and trial.intermediate_values[step] == pytest.approx(returns[step // 300])
      if _sessions(run)[-1] == "finished":
        # Pruned at its last evaluation before the end: the stop reached the run in its last
        # group (a run that gets there finishes), or after it had ended.
        assert step == ITERATIONS - 300 and len(returns) == 6
      else:
        assert _sessions(run)[-1] == "interrupted" and len(returns) < 6
  rows = list(csv.DictReader((root / "trials.csv").open()))
  assert sorted(int(r["trial"]) for r in rows) == list(range(6))
  assert [r["state"] for r in rows].count("pruned") == states.count("PRUNED")
  best = study.best_trial
  assert rows[0]["trial"] == str(best.number) and rows[0]["state"] == "complete"
  assert f"best: trial {best.number}" in result.stdout

  # best.gin is the config with the best trial's bindings: the same seed trains the same run.
  again = rlrun("train", "--config", str(root / "best.gin"), "--root-dir",
                str(tmp_path / "best"), "--seed", "0", "--deterministic", *ARGS)
  assert again.returncode == 0, again.stderr
  assert _returns(tmp_path / "best") == _returns(root / f"trial{best.number}" / "seed0")
  assert f"{LR}={best.params[LR]!r}" in (root / "best.gin").read_text()

  done = rlrun(*command, timeout=300)  # hang guard
  assert done.returncode == 0 and "holds 6 of 6 trials" in done.stdout, done.stdout


SPACE = ["--space", "agents.DqnAgent.gamma=uniform(0.9, 0.99)"]


@pytest.mark.parametrize("args, fragments", [
    ([], ["give at least one --space"]),
    (["--space", "agents.DqnAgent.gamma=normal(0, 1)"], ["must be one of int(...)"]),
    ([*SPACE, "--trials", "0"], ["--trials must be >= 1"]),
    ([*SPACE, "--seeds-per-trial", "0"], ["--seeds-per-trial must be >= 1"]),
    ([*SPACE, "--jobs", "0"], ["--jobs must be >= 1"]),
    ([*SPACE, "--pruner-startup", "-1"], ["--pruner-startup must be >= 0"]),
    ([*SPACE, *gin("agents.DqnAgent.gamma=0.5")], ["also set by the study"]),
    ([*SPACE, *gin("train.Experiment.seed=3")], ["also set by the study"]),
    ([*SPACE, *gin("train.Experiment.eval_interval=0")], ["eval_interval is 0",
                                                         "--pruner none"]),
    (["--space", "agents.DqnAgent.gama=uniform(0.9, 0.99)"], ["gama"]),
    (["--space", "agents.DqnAgent.gamma=uniform(0.9, 1.5)"],
     ["gamma=1.5/seed0", "DqnAgent.gamma must be a number in [0, 1], got 1.5"]),
    (["--space", "agents.DqnAgent.target_update_period=choice([1, 'x', 5])"],
     ["target_update_period=x/seed0:", "target_update_period"]),
    ([*SPACE, "--storage", "nosuchdb://nowhere/x"], ["cannot open the study's storage",
                                                      "--storage"]),
    ([*SPACE, "--objective", "median"], ["Invalid value for '--objective'"]),
])
def test_bad_tunes_start_nothing(capsys, tmp_path, args, fragments):
  root = tmp_path / "tune"
  code, err = run_in_process(capsys, "tune", "--config", "dqn_cartpole.gin", "--trials", "3",
                             "--root-dir", str(root), *args)
  assert_one_line_error(code, err, *fragments)
  assert not root.exists()


def test_tune_without_optuna_says_how_to_install_it(capsys, tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, "optuna", None)  # `import optuna` raises ImportError
  code, err = run_in_process(capsys, "tune", "--config", "dqn_cartpole.gin", "--trials", "3",
                             "--root-dir", str(tmp_path / "tune"), *SPACE)
  assert_one_line_error(code, err, "pip install 'rlrun[tune]'")


def test_a_study_refuses_another_study_s_directory_or_storage(capsys, tmp_path):
  root = tmp_path / "tune"
  root.mkdir()
  (root / "tune.json").write_text(json.dumps({
      "config": "dqn_cartpole.gin", "space": {"agents.DqnAgent.gamma": "uniform(0.5, 0.6)"},
      "seeds": [0], "gin_params": [], "deterministic": False, "objective": "final"}))
  code, err = run_in_process(capsys, "tune", "--config", "dqn_cartpole.gin", "--trials", "3",
                             "--root-dir", str(root), *SPACE)
  assert_one_line_error(code, err, "holds another study", "uniform(0.5, 0.6)")
  # The same study asked for under another name (its trials would reuse trial<N>).
  record = json.loads((root / "tune.json").read_text())
  record.update(space={"agents.DqnAgent.gamma": "uniform(0.9, 0.99)"}, storage=None,
                study_name=None)
  (root / "tune.json").write_text(json.dumps(record))
  code, err = run_in_process(capsys, "tune", "--config", "dqn_cartpole.gin", "--trials", "3",
                             "--root-dir", str(root), "--study-name", "b", *SPACE)
  assert_one_line_error(code, err, "holds another study", "study_name: None -> b")
  # A directory another tune process works in (it holds the directory's lock).
  from rlrun.run_dir import RunDirectory
  busy = RunDirectory(str(tmp_path / "busy"))
  busy.lock()
  try:
    code, err = run_in_process(capsys, "tune", "--config", "dqn_cartpole.gin", "--trials", "3",
                               "--root-dir", str(tmp_path / "busy"), *SPACE)
    assert_one_line_error(code, err, "another rlrun process")
  finally:
    busy.unlock()
  assert [p.name for p in (tmp_path / "busy").iterdir()] == [".lock"]
  other = tmp_path / "other"
  other.mkdir()
  (other / "notes.txt").write_text("mine")
  code, err = run_in_process(capsys, "tune", "--config", "dqn_cartpole.gin", "--trials", "3",
                             "--root-dir", str(other), *SPACE)
  assert_one_line_error(code, err, "holds no study")
  assert [p.name for p in other.iterdir()] == ["notes.txt"]

  # A shared storage: a study of the same name tuning another space, or not made by rlrun.
  storage = f"sqlite:///{tmp_path / 'shared.db'}"
  theirs = optuna.create_study(storage=storage, study_name="theirs", direction="maximize")
  theirs.set_user_attr("rlrun", {"config": "dqn_cartpole.gin", "space": {
      "agents.DqnAgent.gamma": "uniform(0.5, 0.6)"}, "seeds": [0], "gin_params": [],
                                 "deterministic": False, "objective": "final"})
  foreign = optuna.create_study(storage=storage, study_name="foreign", direction="maximize")
  foreign.enqueue_trial({"x": 1})
  for name, fragment in (("theirs", "tunes something else"), ("foreign", "not made by rlrun")):
    code, err = run_in_process(capsys, "tune", "--config", "dqn_cartpole.gin", "--trials", "3",
                               "--root-dir", str(tmp_path / name), "--storage", storage,
                               "--study-name", name, *SPACE)
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / name).exists()
