"""Writing one generated section of BENCHMARKS.md between its markers, leaving the rest."""

import statistics
from pathlib import Path
from typing import Callable, Dict, List


def replace_section(path: Path, name: str, lines: List[str]) -> None:
  """Puts `lines` between <!-- name:start --> and <!-- name:end -->, appending if absent."""
  start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
  text = path.read_text() if path.exists() else "# Benchmarks\n"
  block = f"{start}\n" + "\n".join(lines).rstrip("\n") + f"\n{end}"
  if start in text:
    head, rest = text.split(start, 1)
    text = head + block + rest.split(end, 1)[1]
  else:
    text = text.rstrip() + "\n\n" + block + "\n"
  path.write_text(text)


def median_rows(times: Dict[str, List[float]], digits: int,
                relative: Callable[[float], str]) -> List[str]:
  """Table rows '| name | each run | **median** | relative(median) |' of timed runs."""
  rows = []
  for name, values in times.items():
    median = statistics.median(values)
    rows.append(f"| {name} | {', '.join(f'{v:.{digits}f}' for v in values)} | "
                f"**{median:.{digits}f}** | {relative(median)} |")
  return rows
