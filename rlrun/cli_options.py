"""Click options that several `rlrun` commands share."""

from typing import Tuple

import click

ALLOW_CHANGE_OPTION = click.option(
    "--allow-config-change", is_flag=True,
    help="Resume an existing run even though bindings other than num_iterations differ from "
    "the ones it was started with (each session's bindings are recorded in run.json).")


IMPORT_OPTION = click.option(
    "--import", "imports", multiple=True, metavar="MODULE",
    help="Import MODULE (the working directory on sys.path) before the config is read, e.g. "
    "a module that registers a custom environment. Recorded with the run. Shorthand for "
    "--gin-param 'import MODULE'. Repeatable.")


def with_imports(imports: Tuple[str, ...], gin_params: Tuple[str, ...]) -> Tuple[str, ...]:
  return tuple(f"import {module}" for module in imports) + tuple(gin_params)


USE_RUN_CONFIG_OPTION = click.option(
    "--use-run-config", is_flag=True,
    help="Build the environment by executing the run's config.gin instead of from the "
    "policy's metadata. A gin file is code (it can import and call anything): use this only "
    "for runs you trust.")


STEP_OPTION = click.option(
    "--step", metavar="N|best|last", help="Which of the run's policies: a snapshot "
    "policies/step_<N>, the best-evaluated one (policies/best) or the last export "
    "[default: last].")
