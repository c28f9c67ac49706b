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


def section_rows(path: Path, name: str, is_key: Callable[[str], bool]) -> Dict[str, str]:
  """The table rows between the section's markers, by their first cell, for first cells
  `is_key` accepts (so an invocation can keep the rows of others it did not rerun)."""
  if not path.exists():
    return {}
  text = path.read_text()
  start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
  if start not in text:
    return {}
  rows = {}
  for line in text.split(start, 1)[1].split(end, 1)[0].splitlines():
    cells = [cell.strip() for cell in line.split("|")]
    if len(cells) > 2 and is_key(cells[1]):
      rows[cells[1]] = line
  return rows


def median_rows(times: Dict[str, List[float]], digits: int,
                relative: Callable[[float], str]) -> List[str]:
  """Table rows '| name | each run | **median** | relative(median) |' of timed runs."""
  rows = []
  for name, values in times.items():
    median = statistics.median(values)
    rows.append(f"| {name} | {', '.join(f'{v:.{digits}f}' for v in values)} | "
                f"**{median:.{digits}f}** | {relative(median)} |")
  return rows
