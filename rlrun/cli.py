"""The `rlrun` command line: train, check, sweep, tune, eval, record-video, plot, runs, configs."""

import errno
import os
import sys
import time
import warnings
from typing import Optional, Tuple

import click

from rlrun.errors import UserError

EXIT_USER_ERROR = 2


def _quiet_tensorflow() -> None:
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  # numpy's OpenBLAS threads spin between the numpy actor's small matmuls: with two
  # threads an actor burned ~2.6 ms of a second core per SAC Minitaur step. TensorFlow
  # has its own thread pools. Set before numpy is imported; a user's value wins.
  os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
  os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
  # Reverb names replay checkpoints by local time and keeps the one whose name sorts
  # last: in a daylight-saving fall-back hour it would keep the older one. UTC never
  # goes back. (Also the time zone of role log timestamps.)
  os.environ["TZ"] = "UTC"
  time.tzset()
  # tensorflow-probability and reverb check versions with distutils at import.
  warnings.filterwarnings("ignore", category=DeprecationWarning)


_ALLOW_CHANGE_OPTION = click.option(
    "--allow-config-change", is_flag=True,
    help="Resume an existing run even though bindings other than num_iterations differ from "
    "the ones it was started with (each session's bindings are recorded in run.json).")


_IMPORT_OPTION = click.option(
    "--import", "imports", multiple=True, metavar="MODULE",
    help="Import MODULE (the working directory on sys.path) before the config is read, e.g. "
    "a module that registers a custom environment. Recorded with the run. Shorthand for "
    "--gin-param 'import MODULE'. Repeatable.")


def _with_imports(imports: Tuple[str, ...], gin_params: Tuple[str, ...]) -> Tuple[str, ...]:
  return tuple(f"import {module}" for module in imports) + tuple(gin_params)


_USE_RUN_CONFIG_OPTION = click.option(
    "--use-run-config", is_flag=True,
    help="Build the environment by executing the run's config.gin instead of from the "
    "policy's metadata. A gin file is code (it can import and call anything): use this only "
    "for runs you trust.")


_STEP_OPTION = click.option(
    "--step", metavar="N|best|last", help="Which of the run's policies: a snapshot "
    "policies/step_<N>, the best-evaluated one (policies/best) or the last export "
    "[default: last].")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rlrun")
def cli() -> None:
  """rlrun: gin-configured reinforcement-learning experiments on TF2 and Reverb.

  \b
    rlrun train --config dqn_cartpole.gin
    rlrun eval --root-dir runs/dqn_cartpole
    rlrun record-video --root-dir runs/dqn_cartpole
  """


@cli.command()
@click.option("--config", required=True, metavar="CONFIG",
              help="A gin file path, or the name of a shipped config (see 'rlrun configs').")
@click.option("--root-dir", metavar="DIR", help="The run directory [default: runs/<config stem>]. "
              "Rerunning on the same directory resumes.")
@click.option("--gin-param", "gin_params", multiple=True, metavar="BINDING",
              help="A gin binding applied after the config, e.g. "
              "'train.Experiment.num_iterations=5000'. Repeatable.")
@_IMPORT_OPTION
@click.option("--seed", type=int, help="Shorthand for --gin-param 'train.Experiment.seed=N'.")
@click.option("--gpu", is_flag=True, help="Train on every visible GPU, one replica each "
              "(tf.distribute.MirroredStrategy; batch_size is split between them). Shorthand "
              "for --gin-param \"train.Experiment.strategy='mirrored'\". Needs the CUDA build "
              "of TensorFlow.")
@click.option("--actors", type=int, default=0, metavar="N",
              help="Distribute over processes: a Reverb server, N collecting actors, a learner "
              "and an evaluator, supervised by this command (0: one process) [default: 0].")
@click.option("--deterministic", is_flag=True,
              help="Reproducible bit for bit: two runs of the same config, or a run resumed "
              "from any checkpoint, write identical results and checkpoints (in-process seeded "
              "replay, deterministic TF ops). Shorthand for --gin-param "
              "'train.Experiment.deterministic=True'.")
@click.option("--seeds", metavar="LIST",
              help="Train one run per seed, e.g. 0-4 or 0,2,7: runs go to ROOT/seed<N> (ROOT: "
              "--root-dir, default runs/<config stem>), and a table of each run's final and best "
              "eval and their aggregate (mean, IQM, 95% CI) ends the command.")
@click.option("--jobs", type=int, metavar="J",
              help="With --seeds: runs trained at once [default: one per core].")
@_ALLOW_CHANGE_OPTION
def train(config: str, root_dir: Optional[str], gin_params: Tuple[str, ...],
          imports: Tuple[str, ...], seed: Optional[int], gpu: bool, actors: int,
          deterministic: bool, seeds: Optional[str], jobs: Optional[int],
          allow_config_change: bool) -> None:
  """Train an agent: collect, train, evaluate, checkpoint, export policies.

  Rerunning on the same --root-dir resumes; the run's config.gin is reused as recorded,
  and a rerun whose bindings differ (other than num_iterations) is refused unless
  --allow-config-change. A gin file is Python-like code that can import and call
  anything: only train with configs you trust.
  """
  gin_params = _with_imports(imports, gin_params)
  if seeds is not None:
    for flag, given in (("--seed", seed is not None), ("--actors", actors), ("--gpu", gpu)):
      if given:
        raise UserError(f"--seeds trains each seed in one process of its own; drop {flag}")
    from rlrun.commands.study import train_seeds
    sys.exit(train_seeds(config, root_dir, gin_params, seeds, jobs, deterministic=deterministic,
                         allow_config_change=allow_config_change))
  if jobs is not None:
    raise UserError("--jobs sets how many runs of --seeds train at once; add --seeds (e.g. 0-4)")
  from rlrun.commands.train import train as run
  sys.exit(run(config, root_dir, gin_params, seed, gpu=gpu, actors=actors,
               allow_config_change=allow_config_change, deterministic=deterministic))


def _config_options(function):
  """--config, --gin-param and --seed, shared by the role commands."""
  function = click.option("--seed", type=int,
                          help="Shorthand for --gin-param 'train.Experiment.seed=N'.")(function)
  function = _IMPORT_OPTION(function)
  function = click.option("--gin-param", "gin_params", multiple=True, metavar="BINDING",
                          help="A gin binding applied after the config. Repeatable.")(function)
  return click.option("--config", required=True, metavar="CONFIG",
                      help="The gin config every role of the run uses.")(function)


_REPLAY_OPTION = click.option("--replay", required=True, metavar="HOST:PORT",
                              help="The address `rlrun replay-server` printed.")


@cli.command(name="replay-server")
@_config_options
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
                               train_command.bindings_from(_with_imports(imports, gin_params), seed)))


@cli.command(name="actor")
@_config_options
@_REPLAY_OPTION
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
                       train_command.bindings_from(_with_imports(imports, gin_params), seed)))


@cli.command(name="learner")
@_config_options
@_REPLAY_OPTION
@click.option("--root-dir", metavar="DIR", help="The run directory (checkpoints, summaries, "
              "policies) [default: runs/<config stem>]. Rerunning resumes.")
@click.option("--gpu", is_flag=True, help="Train on every visible GPU (see `rlrun train --gpu`).")
@click.option("--supervised", is_flag=True, hidden=True)
@_ALLOW_CHANGE_OPTION
def learner_command(config: str, gin_params: Tuple[str, ...], imports: Tuple[str, ...], seed: Optional[int], replay: str,
                    root_dir: Optional[str], gpu: bool, supervised: bool,
                    allow_config_change: bool) -> None:
  """Distributed training: train from a replay server and publish the policy weights."""
  from rlrun.commands import roles, train as train_command
  sys.exit(roles.learner(config, replay, root_dir,
                         train_command.bindings_from(_with_imports(imports, gin_params), seed, gpu), supervised,
                         allow_config_change=allow_config_change))


@cli.command(name="evaluator")
@_config_options
@_REPLAY_OPTION
@click.option("--root-dir", metavar="DIR", help="The run directory; results go to DIR/eval "
              "[default: runs/<config stem>].")
def evaluator_command(config: str, gin_params: Tuple[str, ...], imports: Tuple[str, ...], seed: Optional[int], replay: str,
                      root_dir: Optional[str]) -> None:
  """Distributed training: evaluate the weights the learner publishes."""
  from rlrun.commands import roles, train as train_command
  sys.exit(roles.evaluator(config, replay, root_dir, train_command.bindings_from(_with_imports(imports, gin_params), seed)))


@cli.command(name="eval")
@click.option("--root-dir", metavar="DIR", help="A run directory (uses policies/policy).")
@click.option("--episodes", default=10, show_default=True, help="Episodes to run.")
@click.option("--policy", metavar="PATH", help="A SavedModel directory instead of the run's.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--seed", default=12345, show_default=True,
              help="Seeds the environments (environment i gets seed + i).")
@_STEP_OPTION
@_USE_RUN_CONFIG_OPTION
def eval_command(root_dir: Optional[str], episodes: int, policy: Optional[str],
                 as_json: bool, seed: int, step: Optional[str], use_run_config: bool) -> None:
  """Evaluate a saved policy: the mean, std, min and max return, and each episode's.

  The environment is rebuilt from the policy's own metadata; the run's config.gin (code)
  is executed only with --use-run-config.
  """
  from rlrun.commands.evaluate import evaluate
  sys.exit(evaluate(root_dir, episodes, policy, as_json, seed=seed,
                    use_run_config=use_run_config, step=step))


@cli.command(name="record-video")
@click.option("--root-dir", metavar="DIR", help="A run directory (uses policies/policy).")
@click.option("--episodes", default=1, show_default=True, help="Episodes to film.")
@click.option("--output", metavar="FILE", help="Output .mp4 or .gif "
              "[default: DIR/videos/policy-step<N>.mp4].")
@click.option("--fps", default=30, show_default=True, help="Frames per second.")
@click.option("--policy", metavar="PATH", help="A SavedModel directory instead of the run's.")
@_STEP_OPTION
@_USE_RUN_CONFIG_OPTION
def record_video(root_dir: Optional[str], episodes: int, output: Optional[str], fps: int,
                 policy: Optional[str], step: Optional[str], use_run_config: bool) -> None:
  """Film a saved policy headless; prints the video's path.

  The environment is rebuilt from the policy's own metadata; the run's config.gin (code)
  is executed only with --use-run-config.
  """
  from rlrun.commands.video import record_video as record
  sys.exit(record(root_dir, episodes, output, fps, policy, use_run_config=use_run_config,
                  step=step))


@cli.command()
@click.option("--config", required=True, metavar="CONFIG",
              help="A gin file path, or the name of a shipped config.")
@click.option("--gin-param", "gin_params", multiple=True, metavar="BINDING",
              help="A gin binding applied after the config. Repeatable.")
@_IMPORT_OPTION
@click.option("--seed", type=int, help="Shorthand for --gin-param 'train.Experiment.seed=N'.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check(config: str, gin_params: Tuple[str, ...], imports: Tuple[str, ...],
          seed: Optional[int], as_json: bool) -> None:
  """Build a config without training and report what it would run.

  Finds everything 'rlrun train' would refuse at build time (exit 2, one line), writing
  nothing; otherwise prints the environment's specs and step limit, each network's layers
  and parameters, the loop, the replay table (capacity, sampler, remover, rate limit, item
  bytes and memory at capacity) and the exact 'rlrun train' command.
  """
  from rlrun.commands.check import check as run
  from rlrun.commands.train import bindings_from
  sys.exit(run(config, bindings_from(_with_imports(imports, gin_params), seed), as_json))


@cli.command()
@click.option("--config", required=True, metavar="CONFIG",
              help="A gin file path, or the name of a shipped config.")
@click.option("--param", "params", multiple=True, metavar="'BINDING=[v1, v2, ...]'",
              help="A binding and the values to try, e.g. "
              "'tf.keras.optimizers.Adam.learning_rate=[1e-3, 3e-4]'. Repeatable: the grid is "
              "every combination.")
@click.option("--seeds", default="1", show_default=True, metavar="K|LIST",
              help="Seeds per grid point: a count K (seeds 0..K-1) or a list such as 0-4.")
@click.option("--jobs", type=int, metavar="J", help="Runs trained at once [default: one per core].")
@click.option("--root-dir", metavar="DIR", help="Where the sweep's runs go, one directory per "
              "point and seed [default: runs/sweep-<config stem>]. Rerunning resumes.")
@click.option("--gin-param", "gin_params", multiple=True, metavar="BINDING",
              help="A binding applied to every run. Repeatable.")
@_IMPORT_OPTION
@click.option("--rank-by", type=click.Choice(["final", "best", "auc"]), default="final",
              show_default=True, help="The eval return the points are ranked by: the last, the "
              "best, or the mean over the run (area under the curve).")
@click.option("--deterministic", is_flag=True, help="Every run bit-for-bit reproducible (see "
              "'rlrun train --help').")
@_ALLOW_CHANGE_OPTION
def sweep(config: str, params: Tuple[str, ...], seeds: str, jobs: Optional[int],
          root_dir: Optional[str], gin_params: Tuple[str, ...], imports: Tuple[str, ...],
          rank_by: str, deterministic: bool, allow_config_change: bool) -> None:
  """Train a grid of bindings x seeds, each a normal run dir; rank the points at the end.

  Runs go to DIR/<binding=value,...>/seed<N>; DIR/sweep.json records the grid and
  DIR/results.csv the ranking. Everything is checked before any run starts; Ctrl-C
  checkpoints every running run, and rerunning resumes unfinished runs and skips finished
  ones. Compare the points with 'rlrun plot DIR --group-by BINDING'.

  \b
    rlrun sweep --config dqn_cartpole.gin --seeds 3 \\
      --param 'tf.keras.optimizers.Adam.learning_rate=[1e-3, 3e-4]'
  """
  from rlrun.commands.sweep import sweep as run
  sys.exit(run(config, params, seeds, jobs, root_dir, _with_imports(imports, gin_params), rank_by,
               deterministic=deterministic, allow_config_change=allow_config_change))


@cli.command()
@click.option("--config", required=True, metavar="CONFIG",
              help="A gin file path, or the name of a shipped config.")
@click.option("--space", "spaces", multiple=True, metavar="'BINDING=KIND(...)'",
              help="A binding and where to search it: int(LOW, HIGH), uniform(LOW, HIGH), "
              "loguniform(LOW, HIGH) or choice([v1, v2, ...]). Repeatable.")
@click.option("--trials", type=int, required=True, metavar="N",
              help="Trials the study holds in the end (rerun with a larger N to extend it).")
@click.option("--seeds-per-trial", type=int, default=1, show_default=True, metavar="K",
              help="Runs per trial, seeds 0..K-1; a trial's value is the mean over them.")
@click.option("--jobs", type=int, metavar="J", help="Runs trained at once [default: one per core].")
@click.option("--root-dir", metavar="DIR", help="The study directory: trial<N>/seed<K> run dirs, "
              "tune.json, study.db, trials.csv, best.gin [default: runs/tune-<config stem>]. "
              "Rerunning resumes.")
@click.option("--objective", type=click.Choice(["final", "best", "auc"]), default="final",
              show_default=True, help="What a trial maximizes: its last eval return, its best, or "
              "the mean over the run (area under the curve).")
@click.option("--pruner", type=click.Choice(["median", "halving", "none"]), default="median",
              show_default=True, help="Stops trials early on their eval returns: below the median "
              "of earlier trials at the same step, or successive halving (rungs every eval "
              "interval x3).")
@click.option("--pruner-startup", type=int, default=5, show_default=True, metavar="N",
              help="Trials that run to the end before the median pruner stops any.")
@click.option("--sampler-seed", type=int, default=0, show_default=True, metavar="S",
              help="The seed of Optuna's TPE sampler (a resumed study adds the number of trials it "
              "holds, so that it does not repeat the first draws).")
@click.option("--storage", metavar="URL", help="Optuna storage: an RDB URL such as "
              "postgresql://host/db lets several machines share one study "
              "[default: sqlite:///DIR/study.db].")
@click.option("--study-name", metavar="NAME", help="The study's name in the storage "
              "[default: the study directory's name].")
@click.option("--gin-param", "gin_params", multiple=True, metavar="BINDING",
              help="A binding applied to every run. Repeatable.")
@_IMPORT_OPTION
@click.option("--deterministic", is_flag=True, help="Every run bit-for-bit reproducible (see "
              "'rlrun train --help').")
@_ALLOW_CHANGE_OPTION
def tune(config: str, spaces: Tuple[str, ...], trials: int, seeds_per_trial: int,
         jobs: Optional[int], root_dir: Optional[str], objective: str, pruner: str,
         pruner_startup: int, sampler_seed: int, storage: Optional[str],
         study_name: Optional[str], gin_params: Tuple[str, ...], imports: Tuple[str, ...],
         deterministic: bool, allow_config_change: bool) -> None:
  """Search bindings with Optuna: each trial a normal run dir per seed, pruned on its evals.

  TPE proposes each trial's values (the first 10 trials at random); the runs' eval returns
  feed the pruner, and a pruned trial's runs stop as on Ctrl-C. The study lives in DIR
  (an SQLite file, or --storage): Ctrl-C checkpoints every running run, and rerunning resumes
  the interrupted trials and goes on to --trials. DIR/best.gin is the config with the best
  trial's bindings, ready for 'rlrun train --config DIR/best.gin'. Needs
  pip install 'rlrun[tune]'.

  \b
    rlrun tune --config dqn_cartpole.gin --trials 20 --seeds-per-trial 2 \\
      --space 'tf.keras.optimizers.Adam.learning_rate=loguniform(1e-5, 1e-2)' \\
      --space 'agents.DqnAgent.target_update_period=choice([1, 50, 200])'
  """
  from rlrun.commands.tune import tune as run
  sys.exit(run(config, spaces, trials, seeds_per_trial, jobs, root_dir,
               _with_imports(imports, gin_params),
               objective=objective, pruner=pruner, pruner_startup=pruner_startup,
               sampler_seed=sampler_seed, storage=storage, study_name=study_name,
               deterministic=deterministic, allow_config_change=allow_config_change))


@cli.command()
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option("--output", "-o", default="plot.png", show_default=True, metavar="FILE",
              help="The figure: .png, .svg or .pdf.")
@click.option("--x", "x_axis", type=click.Choice(["step", "env_steps", "wall_time"]),
              default="step", show_default=True,
              help="The x axis: iterations, environment steps, or seconds since the first "
              "evaluation.")
@click.option("--metric", default="AverageReturn", show_default=True,
              help="An evaluation field (AverageReturn, AverageEpisodeLength) or a train "
              "summary tag (e.g. losses/loss).")
@click.option("--group-by", default="config", show_default=True, metavar="config|BINDING",
              help="One line per config, or per value of a gin binding (e.g. "
              "'tf.keras.optimizers.Adam.learning_rate').")
@click.option("--aggregate", type=click.Choice(["iqm", "mean"]), default="iqm",
              show_default=True, help="How a group's runs are combined at each x.")
@click.option("--csv", "csv_path", metavar="FILE",
              help="Also write the plotted numbers: group, x, aggregate, 95% CI bounds, runs.")
def plot(paths: Tuple[str, ...], output: str, x_axis: str, metric: str, group_by: str,
         aggregate: str, csv_path: Optional[str]) -> None:
  """Plot learning curves of run directories (or of every run below a directory).

  One run gives its curve; several runs of a group give their interquartile mean (or mean)
  and a 95% bootstrap band over the runs. Reads eval/results.jsonl and, for train
  metrics, the TensorBoard event files in train/; never imports TensorFlow.

  \b
    rlrun plot runs/dqn_cartpole
    rlrun plot runs/study --group-by config --csv curves.csv -o curves.svg
  """
  from rlrun.commands.plot import plot as run
  sys.exit(run(paths, output, x_axis, metric, group_by, aggregate, csv_path))


@cli.command(name="runs")
@click.argument("directory", default="runs", metavar="[DIR]")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def runs_command(directory: str, as_json: bool) -> None:
  """List the runs under DIR [default: runs]: config, seed, status, step, evals, wall time.

  Status is running, finished, interrupted (stopped, or killed without a word) or failed.
  """
  from rlrun.commands.runs import runs
  sys.exit(runs(directory, as_json))


@cli.group(invoke_without_command=True)
@click.pass_context
def configs(context: click.Context) -> None:
  """List the configs shipped with rlrun, each with what it trains.

  \b
    rlrun configs
    rlrun configs show dqn_cartpole
    rlrun configs copy dqn_cartpole my_dqn.gin
  """
  if context.invoked_subcommand is None:
    from rlrun import configs as configs_lib
    names = configs_lib.shipped_configs()
    width = max(len(name) for name in names)
    for name in names:
      click.echo(f"{name.ljust(width)}  {configs_lib.description(configs_lib.resolve(name))}")


@configs.command(name="show")
@click.argument("name")
def configs_show(name: str) -> None:
  """Print a config (a shipped one by name, or a gin file)."""
  from rlrun import configs as configs_lib
  path = configs_lib.resolve(name)
  try:
    click.echo(path.read_text(), nl=False)
  except OSError as e:
    raise UserError(f"cannot read {path}: {e.strerror or e}") from None


@configs.command(name="copy")
@click.argument("name")
@click.argument("destination", metavar="DEST")
def configs_copy(name: str, destination: str) -> None:
  """Write an editable copy of a config to DEST (a file, or a directory to put it in)."""
  from pathlib import Path
  from rlrun import configs as configs_lib
  source = configs_lib.resolve(name)
  target = Path(destination).expanduser()
  if target.is_dir():
    target = target / source.name
  if target.exists():
    raise UserError(f"{target} exists; choose another DEST or remove it first")
  try:
    target.write_text(source.read_text())
  except OSError as e:
    raise UserError(f"cannot write {target}: {e.strerror or e}; choose a writable place") from None
  click.echo(f"wrote {target}; train it with: rlrun train --config {target}")


def main(argv=None) -> None:
  """Entry point: user errors become one line on stderr and exit code 2."""
  _quiet_tensorflow()
  try:
    cli.main(args=argv, prog_name="rlrun", standalone_mode=False)
  except UserError as e:
    # One line: gin appends "In call to configurable ..." lines to errors raised in its calls.
    click.echo(f"rlrun: error: {str(e).strip().splitlines()[0]}", err=True)
    sys.exit(EXIT_USER_ERROR)
  except click.exceptions.UsageError as e:
    hint = f" (see '{e.ctx.command_path} --help')" if e.ctx else ""
    click.echo(f"rlrun: error: {e.format_message()}{hint}", err=True)
    sys.exit(EXIT_USER_ERROR)
  except click.exceptions.Abort:
    click.echo("rlrun: aborted", err=True)
    sys.exit(1)
  except Exception as e:  # pylint: disable=broad-except
    reason = _unwritable(e)
    if reason is None:
      raise
    # The checkpoints written before stay intact: each is committed atomically.
    click.echo(f"rlrun: error: {reason}; free some space or choose a writable place (the "
               "last checkpoint is intact: rerun the same command to resume)", err=True)
    sys.exit(EXIT_USER_ERROR)


_UNWRITABLE = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
               errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
               errno.EPERM: "permission denied"}


def _unwritable(error: BaseException) -> Optional[str]:
  """What made a write fail, for a full or read-only disk (also inside TensorFlow); else None."""
  if isinstance(error, OSError) and error.errno in _UNWRITABLE:
    where = f" ({error.filename})" if error.filename else ""
    return f"cannot write{where}: {_UNWRITABLE[error.errno]}"
  text = str(error)
  for errno_value, message in _UNWRITABLE.items():
    if os.strerror(errno_value) in text:
      return f"cannot write: {message} ({text.strip().splitlines()[0][:200]})"
  return None


if __name__ == "__main__":
  main()
