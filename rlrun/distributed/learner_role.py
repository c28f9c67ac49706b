"""The learner of distributed training: samples a remote replay table, trains, publishes weights.

`DistributedLearner` composes the pieces of a single-process run that a learner has:
AgentParts, a ReverbReplayBuffer on the remote server and a Trainer (no collector, no
evaluator). After every group it publishes the policy weights and the iteration to
the server's variable table, where actors and the evaluator pull them.
"""

from typing import Optional

from rlrun.distributed import connection
from rlrun.distributed.policy_weights import PolicyWeights
from rlrun.distributed.settings import VARIABLE_TABLE, Settings
from rlrun.distributed.status import StatusWriter
from rlrun.distributed.variable_container import VariableContainer
from rlrun.train.checkpointer import make_checkpointer
from rlrun.train.learner import Learner
from rlrun.train.parts import AgentParts
from rlrun.train.settings import Settings as RunSettings
from rlrun.train.trainer import Trainer


class DistributedLearner:
  """Trains from a remote replay table; checkpoints the agent and (remotely) the table.

  Args:
    root_dir: the run directory.
    replay_address: HOST:PORT of `rlrun replay-server`.
    settings: distributed.Settings (timeouts).
    run_settings: the run's train.Experiment settings (default: from gin).
  """

  def __init__(self, root_dir: str, replay_address: str, settings: Optional[Settings] = None,
               run_settings: Optional[RunSettings] = None):
    self.root_dir = root_dir
    self.replay_address = replay_address
    self.settings = settings or Settings()
    self.run_settings = run_settings or RunSettings()
    self.num_iterations = self.run_settings.num_iterations
    self.seed = self.run_settings.seed
    self.parts: Optional[AgentParts] = None
    self.trainer: Optional[Trainer] = None
    self.watchdog = None

  def build(self) -> None:
    self.client = connection.connect(self.replay_address, self.settings.rpc_timeout_s)
    # Sampling (a tf.data Reverb dataset) would wait forever for a server that went away.
    self.watchdog = connection.Watchdog(self.client, self.settings.server_grace_s,
                                        "training").start()
    self.parts = parts = AgentParts.build(self.run_settings, collecting=False)
    builder, agent = parts.builder, parts.agent
    replay_buffer = builder.make_replay_buffer(agent, server_address=self.replay_address)
    self.weights = PolicyWeights(VariableContainer(self.client, VARIABLE_TABLE,
                                                   timeout_s=self.settings.rpc_timeout_s),
                                 agent, parts.iteration, self.settings.server_grace_s)
    # The server builds the table; building it here too checks its bindings and uses them,
    # so gin's unused-binding check means the same as in single-process training.
    builder.make_table(agent)
    self.status = StatusWriter(self.root_dir, "learner", self.settings.status_interval_s)
    self.trainer = Trainer(self.root_dir, parts, replay_buffer,
                           make_checkpointer(self.root_dir, parts),
                           checkpoint_replay=self.client.checkpoint, publish=self.publish)

  @property
  def iteration(self) -> int:
    return self.trainer.iteration

  @property
  def eval_results(self):
    from rlrun.train import evaluation
    return evaluation.read_results(self.root_dir)

  def publish(self) -> None:
    """Pushes the policy weights and the iteration to the variable table; updates the status."""
    self.weights.push(self.iteration)
    self.status.write(step=self.iteration, total=self.num_iterations, state="training",
                      loss=Learner.loss_value(self.trainer.learner.last_loss))

  def restore(self) -> int:
    return self.trainer.restore()

  def run(self, progress=None, start: Optional[int] = None) -> str:
    start = self.restore() if start is None else start
    self.status.write(force=True, step=start, total=self.num_iterations, state="training",
                      resumed_from=start if self.trainer.resumed else None,
                      replay_items=int(self.trainer.replay_buffer.num_frames()))
    try:
      return self.trainer.run(progress, start)
    finally:
      self.status.write(force=True, step=self.iteration, total=self.num_iterations,
                        state="stopped", loss=Learner.loss_value(self.trainer.learner.last_loss))

  def close(self) -> None:
    if self.watchdog is not None:
      self.watchdog.stop()
    if self.trainer is not None:
      self.trainer.close()
    if self.parts is not None:
      self.parts.env.close()
