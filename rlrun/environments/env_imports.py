"""User modules that register or define environments: `--import MODULE` and 'module:EnvId'.

The working directory is put on sys.path first, so a module beside the config imports
as it would in a script run from there.
"""

import importlib
import importlib.util
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
    if (isinstance(e, ModuleNotFoundError) and missing and missing != name
        and not name.startswith(missing + ".")):
      raise ValueError(f"cannot import module {name!r}{where}: it imports {missing!r}, which "
                       "is not installed; pip install the package that provides it") from None
    detail = (f"no module named {missing!r}" if missing and isinstance(e, ModuleNotFoundError)
              else " ".join(str(e).split()))
    searched = [p or cwd for p in sys.path]
    raise ValueError(f"cannot import module {name!r}{where}: {detail}; Python looked in the "
                     f"working directory {cwd} and sys.path {searched} (set PYTHONPATH, or "
                     "run from the directory that holds it)") from None
  except Exception as e:  # pylint: disable=broad-except  # the module's own code failed
    raise ValueError(f"cannot import module {name!r}{where}: {_failure(e, name)}; fix the "
                     "module") from None


def _failure(error: Exception, name: str) -> str:
  """'SyntaxError: invalid syntax at corridor.py:12': what a module's code raised, and where
  (the deepest line of the module's own file, else of the traceback)."""
  text = " ".join(str(getattr(error, "msg", None) or error).split())
  if isinstance(error, SyntaxError) and error.filename:
    place = f"{error.filename}:{error.lineno}"
  else:
    frames = traceback.extract_tb(error.__traceback__)
    try:
      origin = getattr(importlib.util.find_spec(name), "origin", None)
    except Exception:  # pylint: disable=broad-except  # a parent package that fails too
      origin = None
    own = [f for f in frames if origin and os.path.abspath(f.filename) == os.path.abspath(origin)]
    frame = (own or frames or [None])[-1]
    place = f"{frame.filename}:{frame.lineno}" if frame else ""
  return (type(error).__name__ + (f": {text}" if text else "") +
          (f" at {place}" if place else ""))


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
