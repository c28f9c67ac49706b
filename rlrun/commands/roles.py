"""The role commands of distributed training: replay-server, actor, learner, evaluator.

Each builds its part of the same gin config. `rlrun train --actors N` starts them as
child processes on one machine; on several machines a user starts them by hand.
"""

import logging
import sys
from typing import Any, Callable, Optional, Sequence, TextIO

from rlrun import configs
from rlrun.commands.train import EXIT_INTERRUPTED, run_training
from rlrun.errors import UserError, bad_config
from rlrun.run_dir import RunDirectory


def _settings():
  from rlrun.distributed.settings import Settings
  try:
    return Settings()
  except ValueError as e:
    raise UserError(str(e)) from e


def _run_settings():
  from rlrun.train.settings import Settings
  try:
    return Settings()
  except (ValueError, TypeError) as e:
    raise bad_config(e) from e


def _log_with_timestamps() -> None:
  """Role processes run for hours, often into log files: warnings carry the time."""
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


def _server_lost(name: str, error: Exception) -> int:
  from rlrun.distributed.connection import EXIT_SERVER_LOST
  sys.stderr.write(f"rlrun: error: {name}: {error}\n")
  return EXIT_SERVER_LOST


def _run_role(name: str, build: Callable[[], Any], out: TextIO) -> int:
  """Builds a role object (build() then run() then close()); maps its endings to exit codes."""
  from rlrun.distributed.connection import ServerLost
  _log_with_timestamps()
  role = None
  try:
    role = build()
    try:
      role.build()
    except (ValueError, TypeError) as e:
      raise UserError(configs.describe_error(e)) from e
    reason = role.run()
    out.write(f"rlrun: {name} {reason}\n")
    return EXIT_INTERRUPTED if reason.startswith("stopped by SIGINT") else 0
  except ServerLost as e:
    return _server_lost(name, e)
  finally:
    if role is not None:
      role.close()


def _parse(config: str, bindings: Sequence[str]):
  config_path = configs.resolve(config)
  configs.parse(config_path, bindings)
  return config_path


def replay_server(config: str, root_dir: Optional[str], port: Optional[int],
                  bindings: Sequence[str], out: Optional[TextIO] = None) -> int:
  """`rlrun replay-server`: serves the config's replay and variable tables."""
  out = sys.stdout if out is None else out
  from rlrun.distributed.replay_role import ReplayServerRole
  config_path = _parse(config, bindings)
  root = RunDirectory(root_dir or f"runs/{config_path.stem}")
  root.check_can_train(config_path.name)
  return _run_role("replay-server", lambda: ReplayServerRole(
      _run_settings(), str(root.root), port, _settings(), out), out)


def actor(config: str, replay: str, task_id: int, num_tasks: int, root_dir: Optional[str],
          bindings: Sequence[str], out: Optional[TextIO] = None) -> int:
  """`rlrun actor`: collects into the replay table at `replay`."""
  out = sys.stdout if out is None else out
  from rlrun.distributed.actor_role import CollectActor
  _parse(config, bindings)
  if task_id < 0 or num_tasks < 1 or task_id >= num_tasks:
    raise UserError(f"--task-id must be in [0, --num-tasks) = [0, {num_tasks}), got {task_id}")
  return _run_role(f"actor {task_id}", lambda: CollectActor(
      _run_settings(), replay, task_id, num_tasks, _settings(), root_dir, out), out)


def evaluator(config: str, replay: str, root_dir: Optional[str], bindings: Sequence[str],
              out: Optional[TextIO] = None) -> int:
  """`rlrun evaluator`: evaluates the weights the learner publishes at `replay`."""
  out = sys.stdout if out is None else out
  from rlrun.distributed.evaluator_role import DistributedEvaluator
  config_path = _parse(config, bindings)
  root = RunDirectory(root_dir or f"runs/{config_path.stem}")
  return _run_role("evaluator", lambda: DistributedEvaluator(
      str(root.root), replay, _settings(), _run_settings()), out)


def learner(config: str, replay: str, root_dir: Optional[str], bindings: Sequence[str],
            supervised: bool = False, out: Optional[TextIO] = None,
            allow_config_change: bool = False) -> int:
  """`rlrun learner`: trains from the replay table at `replay`, owns the run directory."""
  out = sys.stdout if out is None else out
  from rlrun.distributed.connection import ServerLost
  from rlrun.distributed.learner_role import DistributedLearner
  _log_with_timestamps()
  try:
    return run_training(config, root_dir, bindings, out,
                        lambda root: DistributedLearner(root, replay, _settings(), _run_settings()),
                        lock=not supervised, allow_config_change=allow_config_change)
  except ServerLost as e:
    return _server_lost("learner", e)
