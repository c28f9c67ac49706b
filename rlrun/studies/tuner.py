"""Tuner: runs an Optuna study's trials as rlrun runs, feeding the pruner their evaluations.

Each trial is K runs (one per seed) of the same bindings, in <root>/trial<N>/seed<K>. As
their eval/results.jsonl files grow, the mean AverageReturn over the seeds at each evaluated
step after 0 is reported to the trial; when the pruner says so, the trial's runs are stopped (they
checkpoint as on Ctrl-C) and the trial is told PRUNED. A trial whose runs all finish is told
the mean over its seeds of the objective (the final, best or mean eval return). A trial left
RUNNING by an interrupted study is resumed by the next one on this host and root.
"""

import dataclasses
import socket
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np

from rlrun.studies import ranking
from rlrun.studies.job_pool import EXIT_INTERRUPTED, Job, JobPool
from rlrun.studies.spaces import Space, literal
from rlrun.train import evaluation

# Makes the job of one seed's run of a trial: (trial directory name, seed, bindings) -> Job.
JobMaker = Callable[[str, int, List[str]], Job]


def trial_dir(number: int) -> str:
  return f"trial{number}"


@dataclasses.dataclass
class _Active:
  trial: object  # optuna.Trial
  jobs: List[Job]
  reported: set


class Tuner:
  """Asks `study` for trials until it holds `trials`, runs each as one job per seed.

  Args:
    study: the Optuna study (direction maximize).
    spaces: what each trial draws.
    seeds: the seeds every trial runs.
    root: the study directory (recorded on each trial, with this host, for resuming).
    trials: how many trials the study should hold in the end (any state).
    objective: "final", "best" or "auc": what a finished trial is told.
    make_job: builds a seed's job from the trial's directory name and bindings.
  """

  def __init__(self, study, spaces: Sequence[Space], seeds: Sequence[int], root: Path,
               trials: int, objective: str, make_job: JobMaker):
    self.study = study
    self.spaces = list(spaces)
    self.seeds = list(seeds)
    self.root = root
    self.trials = trials
    self.objective = objective
    self.make_job = make_job
    self.active: Dict[int, _Active] = {}
    self.host = socket.gethostname()
    self._full = False

  def interrupted_trials(self) -> List[object]:
    """This host's and root's trials left RUNNING by an earlier, stopped study (FrozenTrials)."""
    from optuna.trial import TrialState
    return [t for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if t.user_attrs.get("root") == str(self.root) and t.user_attrs.get("host") == self.host]

  def bindings(self, params: Dict[str, object]) -> List[str]:
    return [f"{space.binding}={literal(params[space.binding])}" for space in self.spaces]

  def resume(self, frozen, finished: Sequence[bool]) -> List[Job]:
    """Jobs continuing an interrupted trial; `finished[i]`: seed i's run ended already."""
    from optuna.trial import Trial
    trial = Trial(self.study, frozen._trial_id)
    jobs = [self.make_job(trial_dir(frozen.number), seed, self.bindings(frozen.params))
            for seed in self.seeds]
    for job, done in zip(jobs, finished):
      job.exit_code = 0 if done else None
    self.active[frozen.number] = _Active(trial, jobs, set(frozen.intermediate_values))
    return jobs

  def more(self, free: int) -> List[Job]:
    """One new trial's jobs, while the study holds fewer than `trials` trials."""
    del free
    if self._full or len(self.study.get_trials(deepcopy=False)) >= self.trials:
      self._full = True  # (trials are never removed: no need to count again)
      return []
    trial = self.study.ask()
    params = {space.binding: space.suggest(trial) for space in self.spaces}
    trial.set_user_attr("root", str(self.root))
    trial.set_user_attr("host", self.host)
    trial.set_user_attr("dir", trial_dir(trial.number))
    jobs = [self.make_job(trial_dir(trial.number), seed,
                          [f"{name}={value}" for name, value in params.items()])
            for seed in self.seeds]
    self.active[trial.number] = _Active(trial, jobs, set())
    return jobs

  def watch(self, pool: JobPool) -> None:
    """Reports new evaluations, prunes, and tells the trials whose runs all ended."""
    for number, active in list(self.active.items()):
      if self._report(active) and any(j.state in ("queued", "running") for j in active.jobs):
        for job in active.jobs:
          if job.state == "running":
            pool.stop(job, "pruned")
          elif job.state == "queued":
            job.verdict, job.exit_code = "pruned", EXIT_INTERRUPTED
        self._tell(active, "pruned")
        del self.active[number]
      elif all(j.state not in ("queued", "running") for j in active.jobs):
        states = {j.state for j in active.jobs}
        if states & {"failed", "refused"}:
          self._tell(active, "failed")
        elif states == {"finished"}:
          self._report(active)
          self._tell(active, "complete")
        # else: interrupted by a stop signal; the trial stays RUNNING for the next study
        del self.active[number]

  def _report(self, active: _Active) -> bool:
    """Reports each step every seed has evaluated; returns whether the pruner said stop."""
    per_seed = []
    for job in active.jobs:
      returns = {}
      for record in evaluation.read_results(str(job.root)):
        if "AverageReturn" in record:
          returns[record["step"]] = record["AverageReturn"]
      per_seed.append(returns)
    # Not the step-0 evaluation: the untrained policy says nothing of the trial's values, and
    # Optuna's pruners weigh a trial's best report so far (a lucky start would shield it).
    common = {s for s in set.intersection(*(set(r) for r in per_seed)) if s > 0} - active.reported
    for step in sorted(common):
      active.trial.report(float(np.mean([r[step] for r in per_seed])), step)
      active.reported.add(step)
      if active.trial.should_prune():
        return True
    return False

  def _tell(self, active: _Active, outcome: str) -> None:
    from optuna.trial import TrialState
    if outcome == "pruned":
      self.study.tell(active.trial, state=TrialState.PRUNED)
      return
    found = [ranking.run_metrics(job.root) for job in active.jobs]
    if outcome == "complete" and all(m is not None for m in found):
      self.study.tell(active.trial, float(np.mean([m[self.objective] for m in found])))
    else:
      active.trial.set_user_attr("logs", [str(job.log) for job in active.jobs
                                          if job.state in ("failed", "refused")])
      self.study.tell(active.trial, state=TrialState.FAIL)
