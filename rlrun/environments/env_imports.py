"""User modules that register or define environments: `--import MODULE` and 'module:EnvId'.

The working directory is put on sys.path first, so a module beside the config imports
as it would in a script run from there.
"""

import importlib
import os
import sys
import traceback
from typing import Tuple


def put_cwd_on_path() -> None:
  cwd = os.getcwd()
  if cwd not in sys.path and "" not in sys.path:
    sys.path.insert(0, cwd)


def import_module(name: str, context: str = "") -> None:
  """Imports `name` (with the working directory on sys.path).

  Raises:
    ValueError: naming the module, what failed and where Python looked.
  """
  put_cwd_on_path()
  cwd = os.getcwd()
  where = f" (from {context})" if context else ""
  try:
    importlib.import_module(name)
  except ImportError as e:
    missing = getattr(e, "name", None)
    detail = (f"no module named {missing!r}" if missing and isinstance(e, ModuleNotFoundError)
              else " ".join(str(e).split()))
    searched = [p or cwd for p in sys.path]
    raise ValueError(f"cannot import module {name!r}{where}: {detail}; Python looked in the "
                     f"working directory {cwd} and sys.path {searched} (set PYTHONPATH, or "
                     "run from the directory that holds it)") from None
  except Exception as e:  # pylint: disable=broad-except  # the module's own code failed
    raise ValueError(f"cannot import module {name!r}{where}: {_failure(e)}; fix the "
                     "module") from None


def _failure(error: Exception) -> str:
  """'SyntaxError: invalid syntax at corridor.py:12': what a module's code raised, and where."""
  text = " ".join(str(getattr(error, "msg", None) or error).split())
  if isinstance(error, SyntaxError) and error.filename:
    place = f"{error.filename}:{error.lineno}"
  else:
    frames = traceback.extract_tb(error.__traceback__)
    place = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
  return f"{type(error).__name__}: {text}" + (f" at {place}" if place else "")


def split_id(environment_name: str) -> Tuple[str, str]:
  """'module:EnvId' -> ('module', 'EnvId') with the module imported; 'EnvId' -> ('', 'EnvId')."""
  module, sep, env_id = environment_name.rpartition(":")
  if not sep:
    return "", environment_name
  if not module or not env_id:
    raise ValueError(f"environment id {environment_name!r}: write 'module:EnvId' (a module "
                     "that registers EnvId when imported) or a plain registered id")
  import_module(module, repr(environment_name))
  return module, env_id
