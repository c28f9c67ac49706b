"""The distributed role commands: replay-server, actor, learner, evaluator (one process each)."""

import sys
from typing import Optional, Tuple

import click

from rlrun.cli_options import ALLOW_CHANGE_OPTION, IMPORT_OPTION, with_imports

def config_options(function):
  """--config, --gin-param and --seed, shared by the role commands."""
  function = click.option("--seed", type=int,
                          help="Shorthand for --gin-param 'train.Experiment.seed=N'.")(function)
  function = IMPORT_OPTION(function)
  function = click.option("--gin-param", "gin_params", multiple=True, metavar="BINDING",
                          help="A gin binding applied after the config. Repeatable.")(function)
  return click.option("--config", required=True, metavar="CONFIG",
                      help="The gin config every role of the run uses.")(function)


REPLAY_OPTION = click.option("--replay", required=True, metavar="HOST:PORT",
                              help="The address `rlrun replay-server` printed.")


@click.command(name="replay-server")
@config_options
@click.option("--root-dir", metavar="DIR", help="The run directory; replay checkpoints go to "
              "DIR/replay [default: runs/<config stem>].")
@click.option("--port", type=int, help="The port to listen on [default: a free one].")
def replay_server_command(config: str, gin_params: Tuple[str, ...], imports: Tuple[str, ...], seed: Optional[int],
                          root_dir: Optional[str], port: Optional[int]) -> None:
  """Distributed training: serve the replay and policy-weight tables (Reverb).

  Reverb has no authentication and listens on every interface: run it on a private
  network or behind a firewall.
  """
  from rlrun.commands import roles, train as train_command
  sys.exit(roles.replay_server(config, root_dir, port,
                               train_command.bindings_from(with_imports(imports, gin_params), seed)))


@click.command(name="actor")
@config_options
@REPLAY_OPTION
@click.option("--task-id", type=int, default=0, show_default=True,
              help="This actor's index (seeds its environment).")
@click.option("--num-tasks", type=int, default=1, show_default=True,
              help="How many actors share the initial random collection.")
@click.option("--root-dir", metavar="DIR", help="Write this actor's summaries to "
              "DIR/train/actor_<task-id> [default: none].")
def actor_command(config: str, gin_params: Tuple[str, ...], imports: Tuple[str, ...], seed: Optional[int], replay: str,
                  task_id: int, num_tasks: int, root_dir: Optional[str]) -> None:
  """Distributed training: collect experience into a replay server."""
  from rlrun.commands import roles, train as train_command
  sys.exit(roles.actor(config, replay, task_id, num_tasks, root_dir,
                       train_command.bindings_from(with_imports(imports, gin_params), seed)))


@click.command(name="learner")
@config_options
@REPLAY_OPTION
@click.option("--root-dir", metavar="DIR", help="The run directory (checkpoints, summaries, "
              "policies) [default: runs/<config stem>]. Rerunning resumes.")
@click.option("--gpu", is_flag=True, help="Train on every visible GPU (see `rlrun train --gpu`).")
@click.option("--supervised", is_flag=True, hidden=True)
@ALLOW_CHANGE_OPTION
def learner_command(config: str, gin_params: Tuple[str, ...], imports: Tuple[str, ...], seed: Optional[int], replay: str,
                    root_dir: Optional[str], gpu: bool, supervised: bool,
                    allow_config_change: bool) -> None:
  """Distributed training: train from a replay server and publish the policy weights."""
  from rlrun.commands import roles, train as train_command
  sys.exit(roles.learner(config, replay, root_dir,
                         train_command.bindings_from(with_imports(imports, gin_params), seed, gpu), supervised,
                         allow_config_change=allow_config_change))


@click.command(name="evaluator")
@config_options
@REPLAY_OPTION
@click.option("--root-dir", metavar="DIR", help="The run directory; results go to DIR/eval "
              "[default: runs/<config stem>].")
def evaluator_command(config: str, gin_params: Tuple[str, ...], imports: Tuple[str, ...], seed: Optional[int], replay: str,
                      root_dir: Optional[str]) -> None:
  """Distributed training: evaluate the weights the learner publishes."""
  from rlrun.commands import roles, train as train_command
  sys.exit(roles.evaluator(config, replay, root_dir, train_command.bindings_from(with_imports(imports, gin_params), seed)))


COMMANDS = (replay_server_command, actor_command, learner_command, evaluator_command)
