"""The evaluator of distributed training: evaluates the newest weights every eval_interval iterations.

It pulls the policy weights and their iteration from the variable table and runs the
config's evaluation (the same Evaluator as single-process training: num_eval_episodes
on eval_parallel_envs environments) at iteration 0, each time the iteration crosses a
multiple of eval_interval, and at num_iterations, then exits.
"""

import time
from pathlib import Path
from typing import Optional

from rlrun.distributed import connection
from rlrun.distributed.policy_weights import PolicyWeights
from rlrun.distributed.settings import VARIABLE_TABLE, Settings
from rlrun.distributed.status import StatusWriter, read_statuses
from rlrun.distributed.variable_container import VariableContainer
from rlrun.train import evaluation
from rlrun.train.interrupts import StopRequest
from rlrun.train.policy_snapshots import BestPolicy
from rlrun.train.parts import EVAL_ENV_OFFSET, AgentParts, eval_py_policy
from rlrun.train.progress import Progress
from rlrun.train.settings import Settings as RunSettings


def due(step: int, last: Optional[int], num_iterations: int, eval_interval: int) -> bool:
  """Whether weights of iteration `step` need an evaluation, the last one being at `last`."""
  if last is None:
    return step == 0 and bool(eval_interval) or step >= num_iterations
  if step <= last:
    return False
  if step >= num_iterations:
    return True
  return bool(eval_interval) and step // eval_interval > last // eval_interval


class DistributedEvaluator:
  """Evaluates the weights the learner publishes.

  Args:
    root_dir: the run directory (eval/ is written there).
    replay_address: HOST:PORT of the Reverb server holding the variable table.
    settings: distributed.Settings.
    run_settings: the run's train.Experiment settings (default: from gin).
  """

  def __init__(self, root_dir: str, replay_address: str, settings: Optional[Settings] = None,
               run_settings: Optional[RunSettings] = None):
    self.root_dir = root_dir
    self.replay_address = replay_address
    self.settings = settings or Settings()
    self.run_settings = run_settings or RunSettings()
    self.parts: Optional[AgentParts] = None
    self.evaluator: Optional[evaluation.Evaluator] = None
    self.best_policy: Optional[BestPolicy] = None

  def build(self) -> None:
    timeout = self.settings.rpc_timeout_s
    self.client = connection.connect(self.replay_address, timeout)
    self.parts = parts = AgentParts.build(self.run_settings, env_index=EVAL_ENV_OFFSET,
                                          strategy="default", collecting=False)
    policy = eval_py_policy(parts.agent, self.run_settings)
    self.evaluator = evaluation.Evaluator(self.root_dir, parts.eval_envs(reuse_env=True), policy,
                                          self.run_settings.num_eval_episodes,
                                          results=evaluation.read_results(self.root_dir))
    self.evaluator.progress = Progress(self.run_settings.num_iterations, live=False)
    self.weights = PolicyWeights(VariableContainer(self.client, VARIABLE_TABLE, timeout_s=timeout),
                                 parts.agent, parts.iteration, self.settings.server_grace_s)
    self.status = StatusWriter(self.root_dir, "evaluator", self.settings.status_interval_s)

  def run(self) -> str:
    num_iterations = self.run_settings.num_iterations
    with StopRequest() as stop:
      while not stop.requested:
        try:
          step = self.weights.pull(should_stop=lambda: stop.requested)
        except connection.Cancelled:  # asked to stop while the server was silent
          break
        if step is not None and due(step, self.evaluator.last_step, num_iterations,
                                    self.run_settings.eval_interval):
          earlier = list(self.evaluator.results)
          record = self.evaluator.run(step, **self._env_steps())
          self._keep_best(record, earlier)
          self.status.write(force=True, step=step, eval_return=record["AverageReturn"],
                            state="evaluated")
        last = self.evaluator.last_step
        if step is not None and step >= num_iterations and last is not None and (
            last >= num_iterations):
          return "finished"
        time.sleep(0.2)
      return f"stopped by {stop.signal_name}"

  def _env_steps(self) -> dict:
    """{'env_steps': what the actors' status files say they collected} (as single-process
    runs record it, for `rlrun plot --x env_steps`); {} when no actor writes one here."""
    statuses = read_statuses(self.root_dir)
    steps = [int(s.get("env_steps", 0)) for name, s in statuses.items()
             if name.startswith("actor_")]
    return {"env_steps": sum(steps)} if steps else {}

  def _keep_best(self, record, earlier) -> None:
    """policies/best: the evaluated weights, when they beat every earlier evaluation."""
    if not self.run_settings.keep_best_policy:
      return
    if self.best_policy is None:
      saver = self.parts.policy_exports()["policy"]
      self.best_policy = BestPolicy(Path(self.root_dir) / "policies", saver, earlier)
    self.best_policy.offer(record)

  def close(self) -> None:
    if self.evaluator is not None:
      self.evaluator.close()
    elif self.parts is not None:
      self.parts.env.close()
