"""User modules that register or define environments: `--import MODULE` and 'module:EnvId'.

The working directory is put on sys.path first, so a module beside the config imports
as it would in a script run from there.
"""

import importlib
import os
import sys
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
  try:
    importlib.import_module(name)
  except ImportError as e:
    where = f" (from {context})" if context else ""
    missing = getattr(e, "name", None)
    detail = (f"no module named {missing!r}" if missing and isinstance(e, ModuleNotFoundError)
              else " ".join(str(e).split()))
    raise ValueError(f"cannot import module {name!r}{where}: {detail}; Python looked in the "
                     f"working directory {cwd} and sys.path (set PYTHONPATH, or run from the "
                     "directory that holds it)") from None


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
