"""Writing one generated section of BENCHMARKS.md between its markers, leaving the rest."""

from pathlib import Path
from typing import List


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
