"""Finding gin configs (paths or shipped names) and parsing them with clear errors."""

import importlib
import importlib.util
import re
import sys
import inspect
import tokenize
import warnings
from importlib import resources
from pathlib import Path
from typing import List, Optional, Sequence

import gin

from rlrun.environments import env_imports
from rlrun.errors import UserError

_IMPORT = re.compile(r"^\s*import\s+([A-Za-z_][\w.]*)\s*$")
_REFERENCE = re.compile(r"@(?:[\w.]+/)*([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+)")
# Module parts of names gin knows through rlrun (never imported to resolve a reference).
_KNOWN_MODULES = {"tf", "gin"}

# Modules whose configurables gin files may name.
CONFIGURABLE_MODULES = (
    "rlrun.utils.gin_externals", "rlrun.utils.losses", "rlrun.utils.schedules",
    "rlrun.environments.suite_gym", "rlrun.environments.suite_pybullet",
    "rlrun.environments.suite_gymnasium", "rlrun.environments.suite_atari",
    "rlrun.networks.q_network", "rlrun.networks.encoding_network", "rlrun.networks.fan_in",
    "rlrun.agents.dqn_agent", "rlrun.agents.sac_agent", "rlrun.agents.td3_agent",
    "rlrun.networks.critic_network", "rlrun.networks.actor_network",
    "rlrun.networks.actor_distribution_network", "rlrun.networks.projection_networks",
    "rlrun.replay_buffers.reverb_utils", "rlrun.train.settings", "rlrun.train.strategies",
    "rlrun.builders.off_policy", "rlrun.builders.on_policy", "rlrun.agents.ppo_agent",
    "rlrun.agents.c51_agent", "rlrun.networks.value_network",
    "rlrun.networks.categorical_q_network",
    "rlrun.distributed.settings",
)


def shipped_configs() -> List[str]:
  """File names of the configs installed with rlrun."""
  root = resources.files("rlrun.gin_configs")
  return sorted(p.name for p in root.iterdir() if p.name.endswith(".gin"))


def description(path: Path) -> str:
  """The first phrase of a config's header comment (to the first '.', ':' or ';'; without
  parentheses)."""
  header = []
  for line in path.read_text(errors="replace").splitlines():
    if not line.startswith("#"):
      break
    header.append(line.lstrip("#").strip())
  text = re.sub(r"\s*\([^)]*\)", "", " ".join(header))
  end = min([i for i in (text.find(". "), text.find(":"), text.find(";")) if i >= 0] +
            [len(text)])
  return text[:end].rstrip(".,")


def resolve(config: str) -> Path:
  """A config path, or the bare name of a shipped config (with or without .gin).

  Raises:
    UserError: when it is neither.
  """
  path = Path(config).expanduser()
  if path.is_file():
    return path.resolve()
  name = config if config.endswith(".gin") else f"{config}.gin"
  if "/" not in config and name in shipped_configs():
    return Path(str(resources.files("rlrun.gin_configs") / name))
  raise UserError(f"unknown config '{config}': no such file and no shipped config of that "
                  f"name; shipped configs: {', '.join(shipped_configs())} (or pass a path)")


def import_configurables() -> None:
  # gym resets the warning filters on import, so the CLI's filter is not enough here:
  # tensorflow-probability and reverb warn about distutils while importing.
  with warnings.catch_warnings():
    for module in CONFIGURABLE_MODULES:
      # Again before every import: gym installs its own DeprecationWarning filter.
      warnings.simplefilter("ignore", DeprecationWarning)
      importlib.import_module(module)


def _first_lines(error: Exception, count: int = 2) -> str:
  lines = [l.strip() for l in str(error).splitlines() if l.strip()]
  return " ".join(lines[:count])


def parse(config_path: Path, bindings: Sequence[str]) -> None:
  """Parses `config_path` then `bindings` into a fresh gin config.

  Raises:
    UserError: on syntax errors, unknown configurables or unknown parameters; the
      message names the file and line.
  """
  import_configurables()
  gin.clear_config()
  try:
    text = config_path.read_text(errors="replace")
  except OSError as e:
    raise UserError(f"cannot read config {config_path}: {e.strerror or e}") from e
  env_imports.put_cwd_on_path()
  for binding in bindings:
    module = import_statement(binding)
    if module:
      try:
        env_imports.import_module(module, "--import")
      except ValueError as e:
        raise UserError(str(e)) from None
  register_references([text, *bindings])
  if re.search(r"^\s*from\s+__gin__\s+import\s+dynamic_registration", text, re.M):
    raise UserError(f"{config_path} uses gin's dynamic_registration, which rlrun does not "
                    "support: drop 'from __gin__ import dynamic_registration' and name "
                    "configurables as rlrun registers them (e.g. train.Experiment.seed)")
  try:
    gin.parse_config_files_and_bindings([str(config_path)], None, finalize_config=False)
  except tokenize.TokenError as e:
    raise UserError(f"gin syntax error in {config_path}: {e.args[0]} (at line {e.args[1][0]})")
  except SyntaxError as e:
    raise UserError(f"gin syntax error in {e.filename or config_path}, line {e.lineno}: "
                    f"{e.msg}") from e
  except ImportError as e:
    raise UserError(f"{config_path} imports a module that cannot be imported: "
                    f"{_first_lines(e, 1)}") from e
  except (ValueError, KeyError, TypeError) as e:
    raise UserError(f"bad gin config: {_first_lines(e)}") from e
  for binding in bindings:
    macros_before = _macros()
    try:
      gin.parse_config(binding)
    except (tokenize.TokenError, SyntaxError) as e:
      raise UserError(f"gin syntax error in --gin-param '{binding}': "
                      f"{getattr(e, 'msg', e.args[0])}") from e
    except (ValueError, KeyError, TypeError) as e:
      raise UserError(f"bad --gin-param '{binding}': {_first_lines(e, 1)}") from e
    for name in _macros() - macros_before:
      if f"%{name}" not in text and not any(f"%{name}" in b for b in bindings):
        raise UserError(f"--gin-param '{binding}' binds nothing: '{name}' without a configurable "
                        f"is a gin macro and the config uses no %{name}; "
                        f"{_suggest(name)}")


def import_statement(binding: str) -> Optional[str]:
  """The module of an `import MODULE` line (what `--import MODULE` adds), else None."""
  match = _IMPORT.match(binding)
  return match.group(1) if match else None


def imported_modules() -> List[str]:
  """The modules the parsed config and bindings import (gin `import` lines, --import)."""
  statements = gin.config._IMPORTS  # pylint: disable=protected-access
  return sorted({statement.module for statement in statements})


def register_references(texts: Sequence[str]) -> None:
  """Makes `@module.function` (or a class) usable in gin without decorating it.

  A reference to no registered configurable whose module imports and holds a callable of
  that name registers it as an external configurable under that module, so that
  `train.Experiment.env_fn = @my_envs.make_corridor` and `my_envs.make_corridor.length = 9`
  work for a plain function. Anything else is left for gin to report.

  Raises:
    UserError: when the module of such a reference cannot be imported.
  """
  registry = gin.config._REGISTRY  # pylint: disable=protected-access
  # The first parts of the names gin knows (train, agents, tf...): a misspelt reference
  # under one of them is gin's to report, never a module to import.
  known = _KNOWN_MODULES | {selector.split(".")[0] for selector, _ in registry.items()}
  for text in texts:
    for name in set(_REFERENCE.findall(re.sub(r"#.*", "", text))):
      module, _, attribute = name.rpartition(".")
      top = module.split(".")[0]
      if registry.matching_selectors(name) or top in known:
        continue
      if importlib.util.find_spec(top) is None:
        continue  # not a module path (e.g. a misspelt configurable): gin reports it
      try:
        env_imports.import_module(module, f"the gin reference @{name}")
      except ValueError as e:
        raise UserError(str(e)) from None
      target = getattr(sys.modules[module], attribute, None)
      # The import may have registered it itself (@gin.configurable in the module).
      if callable(target) and not registry.matching_selectors(name):
        gin.external_configurable(target, name=attribute, module=module)


def _macros() -> set:
  config = gin.config._CONFIG  # pylint: disable=protected-access
  return {scope for scope, selector in config if selector == "gin.macro"}


def _suggest(parameter: str) -> str:
  """Which configurables take `parameter`, as a hint for a binding that lacks one."""
  registry = gin.config._REGISTRY  # pylint: disable=protected-access
  owners = []
  for selector, configurable in registry.items():
    if not selector.startswith("gin.") and "." in selector:
      try:
        signature = inspect.signature(configurable.wrapped)
      except (TypeError, ValueError):
        continue
      if parameter in signature.parameters:
        owners.append(f"{selector}.{parameter}")
  if not owners:
    return "bind a parameter as configurable.parameter=value"
  return f"did you mean {' or '.join(sorted(set(owners))[:3])}?"


def describe_error(error: Exception) -> str:
  """An error's first line, plus the gin configurable it was raised in (gin notes it below)."""
  text = str(error)
  first = next((l.strip() for l in text.splitlines() if l.strip()), type(error).__name__)
  match = re.search(r"In call to configurable '([^']+)'", text)
  if match and match.group(1) not in first and not _raised_by_rlrun(error):
    first += f" (in the call to gin configurable {match.group(1)}: check its bindings)"
  return first


def _raised_by_rlrun(error: BaseException) -> bool:
  """Whether rlrun's own code raised it (its messages name the setting already)."""
  frame = error.__traceback__
  while frame is not None and frame.tb_next is not None:
    frame = frame.tb_next
  return frame is not None and f"{Path(__file__).parent.name}/" in frame.tb_frame.f_code.co_filename


def unused_bindings() -> List[str]:
  """Bindings of configurables that were never called (likely typos or wrong scopes)."""
  config = gin.config._CONFIG  # pylint: disable=protected-access
  operative = gin.config._OPERATIVE_CONFIG  # pylint: disable=protected-access
  unused = []
  for (scope, selector), params in config.items():
    if selector in ("gin.macro", "gin.constant") or (scope, selector) in operative:
      continue
    prefix = f"{scope}/" if scope else ""
    unused.extend(f"{prefix}{selector}.{param}" for param in params)
  return sorted(unused)
