"""Tuning spaces: `--space 'BINDING=loguniform(1e-5, 1e-2)'` and the values a trial draws."""

import dataclasses
import math
import re
from typing import Any, List, Sequence, Tuple

from rlrun.errors import UserError
from rlrun.studies.grid import BINDING, split_top_level

KINDS = ("int", "uniform", "loguniform", "choice")
_CALL = re.compile(r"^(\w+)\s*\((.*)\)$", re.S)
_EXAMPLE = ("e.g. 'tf.keras.optimizers.Adam.learning_rate=loguniform(1e-5, 1e-2)', "
            "'agents.DqnAgent.gamma=uniform(0.9, 0.999)', 'train.Experiment.batch_size=int(32, "
            "256)' or 'agents.DqnAgent.target_update_period=choice([1, 100])'")


@dataclasses.dataclass(frozen=True)
class Space:
  """One tuned binding: int / uniform / loguniform between low and high, or a choice."""
  binding: str
  kind: str
  low: float = 0.0
  high: float = 0.0
  choices: Tuple[str, ...] = ()

  def suggest(self, trial) -> str:
    """Draws this binding's value for an Optuna trial; returns it as a gin literal."""
    if self.kind == "int":
      return literal(trial.suggest_int(self.binding, int(self.low), int(self.high)))
    if self.kind == "choice":
      return literal(trial.suggest_categorical(self.binding, list(self.choices)))
    return literal(trial.suggest_float(self.binding, self.low, self.high,
                                       log=self.kind == "loguniform"))

  def probe(self, index: int) -> str:
    """A value to build before any trial runs: the ends in turn, or each choice in turn."""
    if self.kind == "choice":
      return self.choices[index % len(self.choices)]
    value = self.low if index % 2 == 0 else self.high
    return literal(int(value) if self.kind == "int" else float(value))

  def describe(self) -> str:
    if self.kind == "choice":
      return f"choice([{', '.join(self.choices)}])"
    return f"{self.kind}({literal(self.low if self.kind != 'int' else int(self.low))}, " \
           f"{literal(self.high if self.kind != 'int' else int(self.high))})"


def literal(value: Any) -> str:
  """A drawn value as gin reads it back exactly (floats by repr, choices as written)."""
  return repr(value) if isinstance(value, float) else str(value)


def _number(text: str, kind: str, where: str) -> float:
  try:
    if kind == "int":
      return int(text)
    value = float(text)
  except ValueError:
    raise UserError(f"{where}: {text!r} is not {'an integer' if kind == 'int' else 'a number'}"
                    ) from None
  if not math.isfinite(value):
    raise UserError(f"{where}: the bounds must be finite, got {text}")
  return value


def parse_space(text: str) -> Space:
  """'BINDING=kind(...)' -> Space.

  Raises:
    UserError: naming what is wrong and how to write it.
  """
  where = f"--space {text!r}"
  name, sep, rest = text.partition("=")
  name, rest = name.strip(), rest.strip()
  if not sep or not BINDING.match(name):
    raise UserError(f"{where}: write BINDING=KIND(...), {_EXAMPLE}")
  call = _CALL.match(rest)
  if not call or call.group(1) not in KINDS:
    raise UserError(f"{where}: the space must be one of {', '.join(k + '(...)' for k in KINDS)}; "
                    f"{_EXAMPLE}")
  kind, inner = call.group(1), call.group(2).strip()
  try:
    items = split_top_level(inner)
  except ValueError as e:
    raise UserError(f"{where}: {e}") from None
  if kind == "choice":
    if len(items) != 1 or not (items[0].startswith("[") and items[0].endswith("]")):
      raise UserError(f"{where}: write {name}=choice([v1, v2, ...])")
    choices = split_top_level(items[0][1:-1])
    if choices == [""] or any(not c for c in choices):
      raise UserError(f"{where}: the choice needs values, separated by single commas")
    if len(set(choices)) != len(choices):
      raise UserError(f"{where} lists a value twice")
    return Space(name, kind, choices=tuple(choices))
  if len(items) != 2 or not all(items):
    raise UserError(f"{where}: write {name}={kind}(LOW, HIGH)")
  low, high = (_number(item, kind, where) for item in items)
  if low >= high:
    raise UserError(f"{where}: LOW must be below HIGH, got {items[0]} and {items[1]}")
  if kind == "loguniform" and low <= 0:
    raise UserError(f"{where}: a loguniform space needs LOW > 0; use uniform(...) to include 0 "
                    "or below")
  return Space(name, kind, low, high)


def parse_spaces(texts: Sequence[str]) -> List[Space]:
  """Every --space, each binding once.

  Raises:
    UserError: when there is none or a binding is given twice.
  """
  if not texts:
    raise UserError(f"give at least one --space, {_EXAMPLE}")
  spaces = [parse_space(text) for text in texts]
  names = [s.binding for s in spaces]
  for name in names:
    if names.count(name) > 1:
      raise UserError(f"--space {name} is given twice; give each binding one space")
  return spaces
