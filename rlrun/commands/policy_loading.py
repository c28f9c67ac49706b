"""Finding and loading a run's saved policy and environment for eval and video."""

import importlib
import sys
from pathlib import Path
from typing import Callable, Optional, Tuple

from rlrun import configs
from rlrun.environments import env_imports
from rlrun.errors import UserError
from rlrun.run_dir import RunDirectory
from rlrun.train.parts import ENV_LOADERS, limit_episodes, to_py_environment


def _step_dir(step: str) -> str:
  """The policies/ entry `--step` names: last -> policy, best -> best, N -> step_N."""
  if step == "last":
    return "policy"
  if step == "best":
    return "best"
  if step.isascii() and step.isdigit():
    return f"step_{int(step)}"
  raise UserError(f"--step {step}: use a step number, best or last")


def policy_path(root_dir: Optional[str], policy: Optional[str], name: str = "policy",
                step: Optional[str] = None) -> Path:
  if step is not None:
    if policy:
      raise UserError("--step picks a policy of --root-dir; drop it or --policy")
    name = _step_dir(step)
  if policy:
    path = Path(policy).expanduser()
    if not path.is_dir():
      raise UserError(f"--policy {policy}: no such directory; pass a SavedModel directory such "
                      f"as <root-dir>/policies/policy")
    return path
  if not root_dir:
    raise UserError("pass --root-dir DIR (a run directory) or --policy PATH (a SavedModel)")
  root = RunDirectory(root_dir)
  if not root.root.is_dir():
    raise UserError(f"--root-dir {root_dir}: no such directory; train first with "
                    f"'rlrun train --config CONFIG --root-dir {root_dir}'")
  path = root.path("policies", name)
  if not path.is_dir():
    if step is not None:
      from rlrun.train.policy_snapshots import snapshot_steps
      kept = [str(n) for n in snapshot_steps(root.path("policies"))]
      raise UserError(f"{root.root} has no policy for --step {step} (policies/{name} is "
                      f"missing); snapshots kept: {', '.join(kept) or 'none'}, or best, last")
    raise UserError(f"{root.root} has no saved policy (policies/{name} is missing); train "
                    "there first, or pass --policy PATH")
  return path


def load_policy(path: Path, batch_time_steps: bool):
  from rlrun.policies.py_tf_eager_policy import SavedModelPyTFEagerPolicy
  try:
    return SavedModelPyTFEagerPolicy(str(path), batch_time_steps=batch_time_steps)
  except (ValueError, OSError) as e:
    raise UserError(f"cannot load policy {path}: {str(e).splitlines()[0]}") from e
  except Exception as e:  # TF raises several types for corrupt SavedModels.
    raise UserError(f"cannot load policy {path}: unreadable SavedModel "
                    f"({type(e).__name__}); re-export it with rlrun train") from e


def env_factory(root_dir: Optional[str], policy,
                use_run_config: bool = False) -> Tuple[Callable[[int], object], str]:
  """A function seed -> environment, from the policy's metadata (or the run's config.gin).

  A gin file is code: the run's config.gin is executed only with `use_run_config`.
  """
  if use_run_config:
    return _from_run_config(root_dir)
  loader, kwargs = policy.metadata.get("env_loader"), policy.metadata.get("env_kwargs")
  limit = policy.metadata.get("max_episode_steps")
  for module in policy.metadata.get("env_imports") or []:  # the run's --import modules
    try:
      env_imports.import_module(str(module), "the run's --import, in the policy's metadata")
    except ValueError as e:
      raise UserError(str(e)) from None
  if loader in ENV_LOADERS and isinstance(kwargs, dict):
    module_name, function_name = loader.rsplit(".", 1)
    load = getattr(importlib.import_module(module_name), function_name)
    def make_recorded(seed: int):
      try:
        return limit_episodes(load(**dict(kwargs, seed=seed)), limit)
      except (ValueError, TypeError) as e:
        raise UserError(f"cannot rebuild the policy's environment with {loader}"
                        f"({kwargs}): {str(e).splitlines()[0]}") from e
    return make_recorded, kwargs.get("environment_name", loader)
  env_name = policy.metadata.get("env_name")
  # Policies saved before rlrun recorded the env's API wrapped gym 0.23 envs.
  api = policy.metadata.get("env_api", "gym")
  if not env_name or api not in ("gym", "gymnasium"):
    raise UserError("the policy's metadata does not say how to build its environment; pass "
                    "--use-run-config with --root-dir to build it from the run's config.gin "
                    "(a gin file is code: only for runs you trust)")
  if api == "gymnasium":
    from rlrun.environments import suite_gymnasium as suite
  else:
    from rlrun.environments import suite_gym as suite
  sys.stderr.write(
      f"rlrun: note: rebuilding the policy's environment from its {api} id {env_name!r}: the "
      f"run made it with {_maker(policy.metadata)}, whose arguments the policy does not "
      "record; --use-run-config with --root-dir builds it as the run did\n")
  def make_named(seed: int):
    try:
      return limit_episodes(suite.load(env_name, seed=seed), limit)
    except ValueError as e:
      raise UserError(str(e).splitlines()[0]) from e
  return make_named, env_name


def _maker(metadata) -> str:
  suite = metadata.get("env_suite")
  if suite is None:
    return "a loader"
  return "its own env_fn" if suite == "custom" else f"suite_{suite}.load"


def _from_run_config(root_dir: Optional[str]) -> Tuple[Callable[[int], object], str]:
  root = RunDirectory(root_dir) if root_dir else None
  if root is None or not root.path("config.gin").is_file():
    raise UserError("--use-run-config needs --root-dir of a run (with its config.gin)")
  configs.parse(root.path("config.gin"), [])
  from rlrun.train.settings import Settings
  try:
    settings = Settings()
  except (ValueError, TypeError) as e:
    where = f"bad config {root.path('config.gin')}"
    raise UserError(f"{where}: {str(e).splitlines()[0]}",
                    [f"{where}: {line}" for line in getattr(e, "problems", [])[1:]]) from e
  def make(seed: int):
    env = None
    try:
      env = limit_episodes(to_py_environment(settings.env_fn()), settings.max_episode_steps)
      env.seed(seed)
    except UserError:
      raise
    except Exception as e:  # pylint: disable=broad-except  # each env library has its own
      if env is not None:
        env.close()
      text = str(e).strip().splitlines()
      raise UserError(f"cannot build the environment of {root.path('config.gin')}: "
                      f"{type(e).__name__}{': ' + text[0] if text else ''}") from e
    return env
  return make, str(root.path("config.gin"))


def checked_env(make_env: Callable[[int], object], seed: int, policy):
  """`make_env(seed)`, refused when its observations or actions are not the policy's."""
  env = make_env(seed)
  try:
    pairs = (("observation", env.observation_spec(), policy.time_step_spec.observation),
             ("action", env.action_spec(), policy.action_spec))
    for part, theirs, ours in pairs:
      shapes = [tuple(s.shape) for s in _flatten(theirs)]
      wanted = [tuple(s.shape) for s in _flatten(ours)]
      if shapes != wanted:
        raise UserError(f"the environment's {part} shape {shapes} is not the policy's "
                        f"{wanted}: it is not the environment the policy was trained on; pass "
                        "--use-run-config with --root-dir of the run the policy came from, "
                        "its config.gin unedited")
  except BaseException:
    env.close()
    raise
  return env


def _flatten(structure) -> list:
  import tensorflow as tf
  return tf.nest.flatten(structure)
