"""What a rerun changes about an existing run's config, so a resume never changes it silently."""

from pathlib import Path
from typing import Dict, List, Sequence

import gin

from rlrun import configs
from rlrun.errors import UserError

# Bindings a resume may change: raising num_iterations is how a run trains further.
RESUMABLE = ("train.Experiment.num_iterations",)


def _values() -> Dict[str, str]:
  """Every binding of the parsed gin config as 'scope/selector.parameter' -> its text."""
  values = {}
  for (scope, selector), params in gin.config._CONFIG.items():  # pylint: disable=protected-access
    for param, value in params.items():
      if selector == "gin.macro":
        values[f"%{scope}"] = repr(value)
      else:
        values[f"{scope + '/' if scope else ''}{selector}.{param}"] = repr(value)
  return values


def changes(run_config: Path, config_path: Path, bindings: Sequence[str]) -> List[str]:
  """The bindings that differ between the run's recorded config and the requested one.

  Leaves the requested config parsed. Each change reads 'binding: old -> new'.
  """
  configs.parse(run_config, [])
  old = _values()
  configs.parse(config_path, bindings)
  new = _values()
  found = []
  for key in sorted(set(old) | set(new)):
    if key in RESUMABLE or old.get(key) == new.get(key):
      continue
    found.append(f"{key}: {old.get(key, '(unset)')} -> {new.get(key, '(unset)')}")
  return found


def check_unchanged(run_config: Path, config_path: Path, bindings: Sequence[str],
                    allow: bool) -> List[str]:
  """Parses the requested config; refuses one that differs from the run's unless `allow`.

  Returns:
    The changes (allowed ones), for run.json.

  Raises:
    UserError: naming the differing bindings and the flag that accepts them.
  """
  if not run_config.is_file():
    configs.parse(config_path, bindings)
    return []
  found = changes(run_config, config_path, bindings)
  if found and not allow:
    shown = "; ".join(found[:4]) + (f"; and {len(found) - 4} more" if len(found) > 4 else "")
    raise UserError(f"this run was started with another config ({shown}); rerun with the run's "
                    "own bindings to resume it, pass --allow-config-change to resume with these "
                    "(recorded in run.json), or choose another --root-dir")
  return found
