"""Virtualenvs for the peer libraries the benchmarks measure side by side (never rlrun's own)."""

import subprocess
from pathlib import Path
from typing import List, Sequence


def ensure_venv(venv: Path, python: str, check_import: str, installs: Sequence[List[str]],
                what: str) -> str:
  """The venv's python, creating the venv and running each `pip install` of `installs` when
  `import check_import` fails in it."""
  venv_python = venv / "bin" / "python"
  check = [str(venv_python), "-c", f"import {check_import}"]
  if venv_python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
    return str(venv_python)
  print(f"creating {what} venv in {venv} (several GB of wheels)", flush=True)
  subprocess.run([python, "-m", "venv", str(venv)], check=True)
  for arguments in installs:
    subprocess.run([str(venv_python), "-m", "pip", "install", "-q", *arguments], check=True)
  return str(venv_python)
