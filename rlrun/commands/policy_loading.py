"""Finding and loading a run's saved policy and environment for eval and video."""

from pathlib import Path
from typing import Callable, Optional, Tuple

from rlrun import configs
from rlrun.errors import UserError
from rlrun.run_dir import RunDirectory


def policy_path(root_dir: Optional[str], policy: Optional[str], name: str = "policy") -> Path:
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


def env_factory(root_dir: Optional[str], policy) -> Tuple[Callable[[int], object], str]:
  """A function seed -> environment, from the run's config, else the policy's metadata."""
  if root_dir and RunDirectory(root_dir).path("config.gin").is_file():
    root = RunDirectory(root_dir)
    configs.parse(root.path("config.gin"), [])
    from rlrun.train.experiment import Experiment
    experiment = Experiment(root_dir=str(root.root))
    def make(seed: int):
      env = experiment.env_fn()
      env.seed(seed)
      return env
    return make, str(root.path("config.gin"))
  env_name = policy.metadata.get("env_name")
  if not env_name:
    raise UserError("the policy does not record its environment; pass --root-dir of the run")
  from rlrun.environments import suite_gym
  def make_named(seed: int):
    try:
      return suite_gym.load(env_name, seed=seed)
    except ValueError as e:
      raise UserError(str(e).splitlines()[0]) from e
  return make_named, env_name
