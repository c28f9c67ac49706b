"""The study commands: sweep, tune, plot and runs."""

import sys
from typing import Optional, Tuple

import click

from rlrun.cli_options import ALLOW_CHANGE_OPTION, IMPORT_OPTION, with_imports

@click.command()
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
@IMPORT_OPTION
@click.option("--rank-by", type=click.Choice(["final", "best", "auc"]), default="final",
              show_default=True, help="The eval return the points are ranked by: the last, the "
              "best, or the mean over the run (area under the curve).")
@click.option("--deterministic", is_flag=True, help="Every run bit-for-bit reproducible (see "
              "'rlrun train --help').")
@ALLOW_CHANGE_OPTION
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
  sys.exit(run(config, params, seeds, jobs, root_dir, with_imports(imports, gin_params), rank_by,
               deterministic=deterministic, allow_config_change=allow_config_change))


@click.command()
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
@IMPORT_OPTION
@click.option("--deterministic", is_flag=True, help="Every run bit-for-bit reproducible (see "
              "'rlrun train --help').")
@ALLOW_CHANGE_OPTION
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
               with_imports(imports, gin_params),
               objective=objective, pruner=pruner, pruner_startup=pruner_startup,
               sampler_seed=sampler_seed, storage=storage, study_name=study_name,
               deterministic=deterministic, allow_config_change=allow_config_change))


@click.command()
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


@click.command(name="runs")
@click.argument("directory", default="runs", metavar="[DIR]")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def runs_command(directory: str, as_json: bool) -> None:
  """List the runs under DIR [default: runs]: config, seed, status, step, evals, wall time.

  Status is running, finished, interrupted (stopped, or killed without a word) or failed.
  """
  from rlrun.commands.runs import runs
  sys.exit(runs(directory, as_json))


COMMANDS = (sweep, tune, plot, runs_command)
