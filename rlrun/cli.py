"""The `rlrun` command line: train, check, sweep, tune, eval, record-video, plot, runs, configs."""

import errno
import os
import sys
import time
import warnings
from typing import Optional, Tuple

import click

from rlrun import cli_roles, cli_studies
from rlrun.cli_options import (ALLOW_CHANGE_OPTION, IMPORT_OPTION, STEP_OPTION,
                               USE_RUN_CONFIG_OPTION, with_imports)
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
@IMPORT_OPTION
@click.option("--seed", type=int, help="Shorthand for --gin-param 'train.Experiment.seed=N'.")
@click.option("--gpu", is_flag=True, help="Train on every visible GPU, one replica each "
              "(tf.distribute.MirroredStrategy; batch_size is split between them). Shorthand "
              "for --gin-param \"train.Experiment.strategy='mirrored'\". Needs the CUDA build "
              "of TensorFlow.")
@click.option("--actors", type=int, default=0, metavar="N",
              help="Distribute over processes: a Reverb server, N collecting actors, a learner "
              "and an evaluator, supervised by this command (0: one process) [default: 0].")
@click.option("--ray", "ray_address", metavar="ADDRESS",
              help="With --actors: run the roles on a Ray cluster: 'auto' (the cluster this "
              "machine is a node of, or RAY_ADDRESS; also inside 'ray job submit'), the head "
              "node's HOST:PORT, or 'local' (a one-machine Ray). Needs pip install "
              "'rlrun[ray]'. The run directory must be visible on the learner's node.")
@click.option("--ray-learner-resource", metavar="NAME",
              help="With --ray: put the replay server, learner and evaluator on the node "
              "started with this custom resource (ray start --resources '{\"NAME\": 1}') "
              "[default: this command's node].")
@click.option("--deterministic", is_flag=True,
              help="Reproducible bit for bit: two runs of the same config, or a run resumed "
              "from any checkpoint, write identical results and checkpoints (in-process seeded "
              "replay, deterministic TF ops). Shorthand for --gin-param "
              "'train.Experiment.deterministic=True'.")
@click.option("--fast", is_flag=True,
              help="Single-process speed settings: the in-process replay and, for off-policy "
              "agents, 32 iterations per call with the next group collected while the learner "
              "trains on one core fewer than the machine has (the collecting policy is up to "
              "one group older). Shorthand for "
              "--gin-param 'train.Experiment.fast=True'. Not with --actors, --gpu, "
              "--deterministic or a prioritized replay table.")
@click.option("--seeds", metavar="LIST",
              help="Train one run per seed, e.g. 0-4 or 0,2,7: runs go to ROOT/seed<N> (ROOT: "
              "--root-dir, default runs/<config stem>), and a table of each run's final and best "
              "eval and their aggregate (mean, IQM, 95% CI) ends the command.")
@click.option("--jobs", type=int, metavar="J",
              help="With --seeds: runs trained at once [default: one per core].")
@ALLOW_CHANGE_OPTION
def train(config: str, root_dir: Optional[str], gin_params: Tuple[str, ...],
          imports: Tuple[str, ...], seed: Optional[int], gpu: bool, actors: int,
          ray_address: Optional[str], ray_learner_resource: Optional[str],
          deterministic: bool, fast: bool, seeds: Optional[str], jobs: Optional[int],
          allow_config_change: bool) -> None:
  """Train an agent: collect, train, evaluate, checkpoint, export policies.

  Rerunning on the same --root-dir resumes; the run's config.gin is reused as recorded,
  and a rerun whose bindings differ (other than num_iterations) is refused unless
  --allow-config-change. A gin file is Python-like code that can import and call
  anything: only train with configs you trust.
  """
  gin_params = with_imports(imports, gin_params)
  if ray_learner_resource is not None and ray_address is None:
    raise UserError("--ray-learner-resource places roles on a Ray cluster; add --ray ADDRESS")
  for flag, given in (("--seeds", seeds is not None), ("--deterministic", deterministic)):
    if given and ray_address is not None:
      raise UserError(f"{flag} trains in one process per run; drop --ray")
  if fast:
    for flag, given in (("--actors", actors), ("--gpu", gpu), ("--deterministic", deterministic)):
      if given:
        raise UserError(f"--fast and {flag} cannot be combined (--fast trains in one process "
                        "from the in-process replay, off-policy agents collecting while they "
                        "train): drop one of the two")
    gin_params = tuple(gin_params) + ("train.Experiment.fast = True",)
  if ray_address is not None and not actors:
    raise UserError("--ray runs the roles of a distributed run on a Ray cluster; add --actors N")
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
               allow_config_change=allow_config_change, deterministic=deterministic,
               ray=ray_address, ray_learner_resource=ray_learner_resource))


@cli.command(name="eval")
@click.option("--root-dir", metavar="DIR", help="A run directory (uses policies/policy).")
@click.option("--episodes", default=10, show_default=True, help="Episodes to run.")
@click.option("--policy", metavar="PATH", help="A SavedModel directory instead of the run's.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--seed", default=12345, show_default=True,
              help="Seeds the environments (environment i gets seed + i).")
@click.option("--epsilon", default=0.0, show_default=True, metavar="P",
              help="Act uniformly at random with probability P at each step (the Atari "
              "evaluation protocol uses 0.001; 0 follows the policy).")
@STEP_OPTION
@USE_RUN_CONFIG_OPTION
def eval_command(root_dir: Optional[str], episodes: int, policy: Optional[str],
                 as_json: bool, seed: int, epsilon: float, step: Optional[str],
                 use_run_config: bool) -> None:
  """Evaluate a saved policy: the mean, std, min and max return, and each episode's.

  The environment is rebuilt from the policy's own metadata; the run's config.gin (code)
  is executed only with --use-run-config.
  """
  from rlrun.commands.evaluate import evaluate
  sys.exit(evaluate(root_dir, episodes, policy, as_json, seed=seed, epsilon=epsilon,
                    use_run_config=use_run_config, step=step))


@cli.command(name="record-video")
@click.option("--root-dir", metavar="DIR", help="A run directory (uses policies/policy).")
@click.option("--episodes", default=1, show_default=True, help="Episodes to film.")
@click.option("--output", metavar="FILE", help="Output .mp4 or .gif "
              "[default: DIR/videos/policy-step<N>.mp4].")
@click.option("--fps", default=30, show_default=True, help="Frames per second.")
@click.option("--policy", metavar="PATH", help="A SavedModel directory instead of the run's.")
@STEP_OPTION
@USE_RUN_CONFIG_OPTION
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
@click.option("--root-dir", metavar="DIR", help="A run directory (uses policies/policy).")
@click.option("--format", "fmt", required=True, metavar="tflite|onnx",
              help="tflite (run with ai-edge-litert or tflite-runtime) or onnx (onnxruntime).")
@click.option("--output", metavar="FILE", help="The file to write "
              "[default: DIR/exports/<policy>-step<N>.<format>].")
@click.option("--policy", metavar="PATH", help="A SavedModel directory instead of the run's.")
@STEP_OPTION
@click.option("--no-verify", is_flag=True, help="Skip running the file with its runtime.")
@click.option("--runtime-python", metavar="PYTHON", help="The Python that runs the check, "
              "with the format's runtime installed [default: this one].")
@click.option("--samples", default=1000, show_default=True,
              help="Observations drawn from the observation spec for the check.")
def export(root_dir: Optional[str], fmt: str, output: Optional[str], policy: Optional[str],
           step: Optional[str], no_verify: bool, runtime_python: Optional[str],
           samples: int) -> None:
  """Export a saved greedy policy to a file that runs without TensorFlow.

  The file takes the observation (batch first; named observation, or observation_<key> for
  nested ones) and returns the action. It is then checked: its own runtime, in a fresh
  process that imports neither TensorFlow nor rlrun, acts on observations drawn from the
  observation spec, and the actions must equal the SavedModel's (discrete) or lie within
  a relative 1e-5 (ONNX) or 1e-4 (TFLite) of them (continuous). A file that fails the check
  is not written (exit 1).
  Needs pip install 'rlrun[export]'.
  """
  from rlrun.commands.export import VerificationFailed, export as run
  try:
    sys.exit(run(root_dir, policy, step, fmt.lower(), output, verify=not no_verify,
                 runtime_python=runtime_python, samples=samples))
  except VerificationFailed as e:
    click.echo(f"rlrun: export not written: {e}", err=True)
    sys.exit(1)


@cli.command()
@click.option("--config", required=True, metavar="CONFIG",
              help="A gin file path, or the name of a shipped config.")
@click.option("--gin-param", "gin_params", multiple=True, metavar="BINDING",
              help="A gin binding applied after the config. Repeatable.")
@IMPORT_OPTION
@click.option("--seed", type=int, help="Shorthand for --gin-param 'train.Experiment.seed=N'.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--no-probe", is_flag=True, help="Skip the time estimate (a few iterations of "
              "the loop, timed after a warm-up; seconds for most configs).")
def check(config: str, gin_params: Tuple[str, ...], imports: Tuple[str, ...],
          seed: Optional[int], as_json: bool, no_probe: bool) -> None:
  """Build a config without training and report what it would run.

  Finds everything 'rlrun train' would refuse at build time (exit 2, one line), writing
  nothing; otherwise prints the environment's specs and step limit, each network's layers
  and parameters, the loop, the replay table (capacity, sampler, remover, rate limit, item
  bytes and memory at capacity), the disk the run will keep, a time estimate from a few
  timed iterations, and the exact 'rlrun train' command.
  """
  from rlrun.commands.check import check as run
  from rlrun.commands.train import bindings_from
  sys.exit(run(config, bindings_from(with_imports(imports, gin_params), seed), as_json,
               probe=not no_probe))


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
  click.echo(_config_text(path), nl=False)


def _config_text(path) -> str:
  try:
    return path.read_text()
  except OSError as e:
    raise UserError(f"cannot read {path}: {e.strerror or e}") from None
  except UnicodeDecodeError:
    raise UserError(f"{path} is not a text file, so not a gin config; name a .gin file "
                    "or a shipped config (rlrun configs)") from None


@configs.command(name="copy")
@click.argument("name")
@click.argument("destination", metavar="DEST")
def configs_copy(name: str, destination: str) -> None:
  """Write an editable copy of a config to DEST (a file, or a directory to put it in)."""
  from pathlib import Path
  from rlrun import configs as configs_lib
  from rlrun.commands.output_files import refuse_run_state
  source = configs_lib.resolve(name)
  text = _config_text(source)
  target = Path(destination).expanduser()
  if target.is_dir():
    target = target / source.name
  if target.exists():
    raise UserError(f"{target} exists; choose another DEST or remove it first")
  refuse_run_state("DEST", destination, target)
  try:
    target.write_text(text)
  except OSError as e:
    raise UserError(f"cannot write {target}: {e.strerror or e}; choose a writable place") from None
  click.echo(f"wrote {target}; train it with: rlrun train --config {target}")


for _command in cli_roles.COMMANDS + cli_studies.COMMANDS:
  cli.add_command(_command)


def main(argv=None) -> None:
  """Entry point: user errors become one line on stderr and exit code 2."""
  _quiet_tensorflow()
  try:
    cli.main(args=argv, prog_name="rlrun", standalone_mode=False)
  except UserError as e:
    # One line: gin appends "In call to configurable ..." lines to errors raised in its calls.
    click.echo(f"rlrun: error: {str(e).strip().splitlines()[0]}", err=True)
    for line in e.more:  # other problems found at the same time: a line each
      click.echo(f"rlrun: error: {line.strip().splitlines()[0]}", err=True)
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
