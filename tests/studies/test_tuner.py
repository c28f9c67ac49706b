"""Tuner against a real (in-memory) Optuna study, with run dirs written by hand."""

import optuna
import pytest
from optuna.trial import TrialState

from run_dirs import make_run
from rlrun.studies.job_pool import EXIT_INTERRUPTED, Job, JobPool
from rlrun.studies.spaces import parse_spaces
from rlrun.studies.tuner import Tuner

LR = "tf.keras.optimizers.Adam.learning_rate"


class _Process:
  """Stands in for a child's Popen: records the signals it is sent."""

  def __init__(self):
    self.signals = []

  def send_signal(self, signum):
    self.signals.append(signum)


@pytest.fixture
def tuner(tmp_path):
  study = optuna.create_study(
      direction="maximize", sampler=optuna.samplers.TPESampler(seed=0),
      pruner=optuna.pruners.MedianPruner(n_startup_trials=1))

  def make_job(directory, seed, bindings):
    root = tmp_path / directory / f"seed{seed}"
    return Job(f"{directory}/seed{seed}", root, ["--gin-param", *bindings],
               tmp_path / "logs" / directory / f"seed{seed}.log")

  return Tuner(study, parse_spaces([f"{LR}=loguniform(1e-5, 1e-2)"]), [0, 1], tmp_path,
               trials=4, objective="final", make_job=make_job)


def _run(job, returns, exit_code=None):
  """Writes the job's evaluations so far (its run dir made on first use)."""
  if not job.root.exists():
    make_run(job.root, "c.gin", int(job.root.name[-1]), returns)
  else:
    make_run(job.root.with_name("tmp"), "c.gin", 0, returns)
    (job.root.with_name("tmp") / "eval" / "results.jsonl").replace(
        job.root / "eval" / "results.jsonl")
  if job.process is None:
    job.process = _Process()
  job.exit_code = exit_code


def test_trials_are_reported_pruned_completed_failed_and_resumed(tuner):
  pool = JobPool([], 2, 1)
  first = tuner.more(2)
  assert [j.name for j in first] == ["trial0/seed0", "trial0/seed1"]
  value = tuner.study.trials[0].params[LR]
  assert first[0].args == ["--gin-param", f"{LR}={value!r}"]
  assert tuner.study.trials[0].user_attrs["dir"] == "trial0"

  _run(first[0], {0: 10.0, 10: 50.0, 20: 100.0}, exit_code=0)
  _run(first[1], {0: 10.0, 10: 70.0})  # still running: only common steps are reported
  tuner.watch(pool)
  # The step-0 evaluation (the untrained policy) is not reported.
  assert tuner.study.trials[0].intermediate_values == {10: 60.0}
  _run(first[1], {0: 10.0, 10: 70.0, 20: 80.0}, exit_code=0)
  tuner.watch(pool)
  trial = tuner.study.trials[0]
  assert trial.state == TrialState.COMPLETE and trial.value == pytest.approx(90.0)

  second = tuner.more(2)
  _run(second[0], {0: 5.0, 10: 20.0})
  _run(second[1], {0: 5.0})
  tuner.watch(pool)
  assert tuner.study.trials[1].state == TrialState.RUNNING  # nothing reported yet
  _run(second[1], {0: 5.0, 10: 30.0})
  tuner.watch(pool)  # 25 at step 10, below trial 0's 60: pruned, both runs asked to stop
  assert tuner.study.trials[1].state == TrialState.PRUNED
  assert [j.process.signals for j in second] == [[15], [15]]
  for job in second:
    job.exit_code = EXIT_INTERRUPTED
  assert [j.state for j in second] == ["pruned", "pruned"]

  third = tuner.more(2)
  _run(third[0], {0: 1.0}, exit_code=1)
  _run(third[1], {0: 1.0, 10: 2.0, 20: 3.0}, exit_code=0)
  tuner.watch(pool)
  assert tuner.study.trials[2].state == TrialState.FAIL
  assert tuner.study.trials[2].user_attrs["logs"] == [str(third[0].log)]

  fourth = tuner.more(2)
  assert tuner.more(2) == []  # the study holds its 4 trials
  _run(fourth[0], {0: 9.0, 10: 99.0, 20: 99.0}, exit_code=0)
  _run(fourth[1], {0: 9.0}, exit_code=EXIT_INTERRUPTED)  # Ctrl-C: the trial stays running
  tuner.watch(pool)
  assert tuner.active == {} and tuner.study.trials[3].state == TrialState.RUNNING
  [frozen] = tuner.interrupted_trials()
  resumed = tuner.resume(frozen, [True, False])
  assert [j.state for j in resumed] == ["finished", "queued"]
  assert resumed[1].args == ["--gin-param", f"{LR}={frozen.params[LR]!r}"]
  _run(resumed[1], {0: 9.0, 10: 101.0, 20: 97.0}, exit_code=0)
  tuner.watch(pool)
  trial = tuner.study.trials[3]
  assert trial.state == TrialState.COMPLETE and trial.value == pytest.approx(98.0)
  assert trial.intermediate_values == {10: 100.0, 20: 98.0}
  assert tuner.study.best_trial.number == 3
