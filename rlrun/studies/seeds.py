"""Seed lists as users write them: '0-4', '0,2,7', '3', or a mix ('0-2,10')."""

import re
from typing import List

from rlrun.errors import UserError

_PART = re.compile(r"^(\d+)(?:-(\d+))?$")
MAX_SEEDS = 10_000  # a study of more runs than this is a typo, not a plan


def _too_many(text: str) -> UserError:
  return UserError(f"--seeds {text!r}: at most {MAX_SEEDS} seeds, each below 2**31; name fewer")


def parse_seeds(text: str) -> List[int]:
  """The seeds `text` names, in order, each once.

  Raises:
    UserError: for anything but non-negative integers and ascending ranges.
  """
  seeds: List[int] = []
  seen = set()
  for part in (p.strip() for p in text.split(",")):
    match = _PART.match(part)
    if not match:
      raise UserError(f"--seeds {text!r}: write seeds as N, A-B or a comma list such as 0-4 or "
                      "0,2,7")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
      raise UserError(f"--seeds {text!r}: the range {part} goes down; write {last}-{first}")
    if last >= 2 ** 31 or last - first + 1 > MAX_SEEDS:
      raise _too_many(text)
    for seed in range(first, last + 1):
      if seed not in seen:
        seen.add(seed)
        seeds.append(seed)
    if len(seeds) > MAX_SEEDS:
      raise _too_many(text)
  return seeds
