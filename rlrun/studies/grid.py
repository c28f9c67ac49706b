"""Sweep grids: `--param 'BINDING=[v1, v2]'` lists, their product, and a directory per point."""

import dataclasses
import itertools
import re
from typing import Dict, List, Sequence, Tuple

from rlrun.errors import UserError

BINDING = re.compile(r"^[A-Za-z_][\w./]*$")


def split_top_level(text: str) -> List[str]:
  """Splits at commas outside quotes, (), [] and {}."""
  parts, depth, quote, current = [], 0, None, ""
  for char in text:
    if quote:
      quote = None if char == quote else quote
    elif char in "'\"":
      quote = char
    elif char in "([{":
      depth += 1
    elif char in ")]}":
      depth -= 1
    elif char == "," and depth == 0:
      parts.append(current.strip())
      current = ""
      continue
    current += char
  if quote or depth:
    raise ValueError("unbalanced quotes or brackets")
  parts.append(current.strip())
  return parts


def parse_param(text: str) -> Tuple[str, List[str]]:
  """'BINDING=[v1, v2]' -> (BINDING, ['v1', 'v2']); each value a gin literal or reference.

  Raises:
    UserError: when it is not a binding set to a non-empty bracketed list.
  """
  name, sep, values = text.partition("=")
  name, values = name.strip(), values.strip()
  if not sep or not BINDING.match(name):
    raise UserError(f"--param {text!r}: write BINDING=[v1, v2, ...], e.g. "
                    "'tf.keras.optimizers.Adam.learning_rate=[1e-3, 3e-4]'")
  if not (values.startswith("[") and values.endswith("]")):
    raise UserError(f"--param {text!r} is not a list: write {name}=[v1, v2, ...]")
  try:
    items = split_top_level(values[1:-1])
  except ValueError as e:
    raise UserError(f"--param {text!r}: {e}") from None
  if items == [""] or any(not item for item in items):
    raise UserError(f"--param {text!r}: the list needs values, separated by single commas")
  if len(set(items)) != len(items):
    raise UserError(f"--param {text!r} lists a value twice")
  return name, items


@dataclasses.dataclass(frozen=True)
class Point:
  """One point of the grid: its bindings (in --param order) and its directory name."""
  bindings: Tuple[Tuple[str, str], ...]
  name: str

  def gin_params(self) -> List[str]:
    return [f"{binding}={value}" for binding, value in self.bindings]

  def as_dict(self) -> Dict[str, str]:
    return dict(self.bindings)


def short_names(bindings: Sequence[str]) -> Dict[str, str]:
  """The last part of each binding (e.g. learning_rate), or more where two would clash."""
  names = {}
  for binding in bindings:
    parts = re.split(r"[./]", binding)
    for length in range(1, len(parts) + 1):
      candidate = ".".join(parts[-length:])
      others = [b for b in bindings if b != binding]
      if not any(".".join(re.split(r"[./]", o)[-length:]) == candidate for o in others):
        break
    names[binding] = candidate
  return names


def _safe(value: str) -> str:
  value = re.sub(r"[\s'\"]", "", value)
  return re.sub(r"[^\w.+\-@()=,]", "_", value)[:60] or "_"


def grid(params: Sequence[Tuple[str, List[str]]]) -> List[Point]:
  """Every combination of the values, the first --param varying slowest.

  Raises:
    UserError: when a binding is swept twice.
  """
  bindings = [name for name, _ in params]
  repeated = {b for b in bindings if bindings.count(b) > 1}
  if repeated:
    raise UserError(f"--param {sorted(repeated)[0]} is given twice; list all its values in one "
                    "--param")
  short = short_names(bindings)
  points = []
  for values in itertools.product(*(values for _, values in params)):
    pairs = tuple(zip(bindings, values))
    points.append(Point(pairs, ",".join(f"{short[b]}={_safe(v)}" for b, v in pairs)))
  names = [p.name for p in points]
  if len(set(names)) != len(names):  # values that differ only in characters dropped above
    points = [Point(p.bindings, f"{i:03d}-{p.name}") for i, p in enumerate(points)]
  return points
