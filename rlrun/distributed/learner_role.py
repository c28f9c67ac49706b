"""The learner of distributed training: samples a remote replay table, trains, publishes weights.

`DistributedLearner` is an Experiment whose replay lives in the Reverb server at
`replay_address` and whose collection and evaluation happen in other processes. It
keeps the single-process loop, triggers, checkpoints and resume; after every
learner call it publishes the collect policy's weights (and the train step) to the
server's variable table, where actors and the evaluator pull them.
"""

from typing import Dict, Optional

from rlrun.distributed import connection
from rlrun.distributed.policy_weights import PolicyWeights
from rlrun.distributed.settings import VARIABLE_TABLE, Settings
from rlrun.distributed.status import StatusWriter
from rlrun.distributed.variable_container import VariableContainer
from rlrun.replay_buffers.reverb_replay_buffer import ReverbReplayBuffer
from rlrun.train.experiment import TABLE_NAME, Experiment
from rlrun.train.learner import Learner


class DistributedLearner(Experiment):
  """Trains from a remote replay table; checkpoints the agent and (remotely) the table.

  Args:
    root_dir: the run directory.
    replay_address: HOST:PORT of `rlrun replay-server`.
    settings: distributed.Settings (timeouts).
  """

  def __init__(self, root_dir: str, replay_address: str, settings: Optional[Settings] = None):
    super().__init__(root_dir)
    self.replay_address = replay_address
    self.settings = settings or Settings()
    self.collect_policy = None
    self.metrics = []

  def build(self) -> None:
    self.client = connection.connect(self.replay_address, self.settings.rpc_timeout_s)
    # Sampling (a tf.data Reverb dataset) would wait forever for a server that went away.
    self.watchdog = connection.Watchdog(self.client, self.settings.server_grace_s,
                                        "training").start()
    self.build_agent()
    self.replay_buffer = ReverbReplayBuffer(self.agent.collect_data_spec, TABLE_NAME,
                                            self.agent.train_sequence_length,
                                            server_address=self.replay_address)
    self.weights = PolicyWeights(VariableContainer(self.client, VARIABLE_TABLE,
                                                   timeout_s=self.settings.rpc_timeout_s),
                                 self.agent, self.train_step, self.settings.server_grace_s)
    # The server builds the table; building it here too checks its bindings and uses them,
    # so gin's unused-binding check means the same as in single-process training.
    self.replay_table()
    self.build_learner()
    self._build_triggers()
    self.status = StatusWriter(self.root_dir, "learner", self.settings.status_interval_s)

  def publish(self) -> None:
    """Pushes the policy weights and the train step to the variable table."""
    self.weights.push(int(self.train_step.numpy()))

  # ---- the Experiment hooks ----------------------------------------------------------

  def run(self, progress=None, start: Optional[int] = None) -> str:
    start = self.restore() if start is None else start
    self.publish()
    self.status.write(force=True, step=start, total=self.num_iterations, state="training",
                      resumed_from=start, replay_items=int(self.replay_buffer.num_frames()))
    try:
      return super().run(progress, start)
    finally:
      self.status.write(force=True, step=int(self.train_step.numpy()),
                        total=self.num_iterations, state="stopped",
                        loss=Learner.loss_value(self.learner.last_loss))

  def _initial_collect(self) -> None:
    """The actors collect the initial random steps; the rate limiter waits for them."""

  def run_eval(self) -> Dict[str, float]:
    """Evaluation is the evaluator role's."""
    return {}

  def _collect_and_train(self, chunk: int):
    loss = self.learner.run(iterations=chunk * self.train_steps_per_iteration)
    self.publish()
    self.status.write(step=int(self.train_step.numpy()), total=self.num_iterations,
                      loss=Learner.loss_value(loss), state="training")
    return loss

  def save_checkpoint(self) -> None:
    """The server's replay checkpoint first: an agent checkpoint never lacks its replay."""
    step = int(self.train_step.numpy())
    self.client.checkpoint()
    self.checkpointer.save(step, {"eval_results": []})

  def finish(self, interrupted: bool) -> None:
    self.learner.write_loss_summaries()
    self.save_checkpoint()
    self.policy_trigger.save()
    self.publish()

  def close(self) -> None:
    if hasattr(self, "watchdog"):
      self.watchdog.stop()
    env = getattr(self, "collect_env", None)
    if env is not None:
      env.close()
