"""The evaluator of distributed training: evaluates the newest weights every eval_interval steps.

It pulls the policy weights and their train step from the variable table and runs
the config's evaluation (num_eval_episodes on eval_parallel_envs environments) at
step 0, each time the step crosses a multiple of eval_interval, and at num_iterations,
then exits. Results go where single-process training puts them: eval/ summaries and
eval/results.jsonl.
"""

import os
import time
from typing import Optional

from rlrun.distributed import connection
from rlrun.distributed.policy_weights import PolicyWeights
from rlrun.distributed.settings import VARIABLE_TABLE, Settings
from rlrun.distributed.status import StatusWriter
from rlrun.distributed.variable_container import VariableContainer
from rlrun.train import evaluation
from rlrun.train.experiment import Experiment, fast_py_policy
from rlrun.train.interrupts import StopRequest
from rlrun.train.progress import Progress
from rlrun.utils.summaries import LazySummaryWriter


class DistributedEvaluator(Experiment):
  """Evaluates the weights the learner publishes.

  Args:
    root_dir: the run directory (eval/ is written there).
    replay_address: HOST:PORT of the Reverb server holding the variable table.
    settings: distributed.Settings.
  """

  def __init__(self, root_dir: str, replay_address: str, settings: Optional[Settings] = None):
    super().__init__(root_dir)
    self.replay_address = replay_address
    self.settings = settings or Settings()
    self.progress = None

  def build(self) -> None:
    timeout = self.settings.rpc_timeout_s
    self.client = connection.connect(self.replay_address, timeout)
    self.build_agent(env_index=1000, strategy="default")
    self.eval_envs = [self.collect_env] + [self.make_env(1001 + i)
                                           for i in range(self.eval_parallel_envs - 1)]
    self.eval_policy = fast_py_policy(self.agent.policy, self.numpy_actor, batch_time_steps=False)
    self.eval_writer = LazySummaryWriter(os.path.join(self.root_dir, "eval"))
    self.weights = PolicyWeights(VariableContainer(self.client, VARIABLE_TABLE, timeout_s=timeout),
                                 self.agent, self.train_step, self.settings.server_grace_s)
    self.status = StatusWriter(self.root_dir, "evaluator", self.settings.status_interval_s)
    self.eval_results = evaluation.read_results(self.root_dir)
    self.progress = Progress(self.num_iterations, live=False)

  def _due(self, step: int) -> bool:
    if not self.eval_results:
      return step == 0 and bool(self.eval_interval) or step >= self.num_iterations
    last = self.eval_results[-1]["step"]
    if step <= last:
      return False
    if step >= self.num_iterations:
      return True
    return bool(self.eval_interval) and step // self.eval_interval > last // self.eval_interval

  def run(self, progress=None, start: Optional[int] = None) -> str:
    del progress, start
    with StopRequest() as stop:
      while not stop.requested:
        step = self.weights.pull()
        if step is not None and self._due(step):
          result = self.run_eval()
          self.status.write(force=True, step=step, eval_return=result["AverageReturn"],
                            state="evaluated")
        if step is not None and step >= self.num_iterations and self.eval_results and (
            self.eval_results[-1]["step"] >= self.num_iterations):
          return "finished"
        time.sleep(0.2)
      return f"stopped by {stop.signal_name}"

  def close(self) -> None:
    for env in getattr(self, "eval_envs", []):
      env.close()
