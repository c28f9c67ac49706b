"""Running the rlrun CLI in a subprocess, as a user would."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

# Run from a neutral directory: `python -m rlrun` puts the working directory on
# sys.path, and the installed package (not the source tree) is what users run.
NEUTRAL_CWD = tempfile.gettempdir()

def rlrun(*args, timeout=300, **kwargs) -> subprocess.CompletedProcess:
  env = dict(os.environ, PYTHONUNBUFFERED="1")
  kwargs.setdefault("cwd", NEUTRAL_CWD)
  return subprocess.run([sys.executable, "-m", "rlrun", *args], capture_output=True, text=True,
                        timeout=timeout, env=env, **kwargs)


def popen(*args, cwd=None) -> subprocess.Popen:
  env = dict(os.environ, PYTHONUNBUFFERED="1")
  return subprocess.Popen([sys.executable, "-m", "rlrun", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env, cwd=cwd or NEUTRAL_CWD)


def snapshot(root: Path) -> dict:
  """Every file under root with its size and mtime, to prove a command changed nothing."""
  return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
          for p in sorted(root.rglob("*")) if p.is_file()}


def gin(binding: str) -> list:
  return ["--gin-param", binding]
