"""Running the rlrun CLI in a subprocess, as a user would."""

import os
import subprocess
import sys
from pathlib import Path

FAST = ["--gin-param", "train.Experiment.summary_interval=100"]


def rlrun(*args, timeout=300, **kwargs) -> subprocess.CompletedProcess:
  env = dict(os.environ, PYTHONUNBUFFERED="1")
  return subprocess.run([sys.executable, "-m", "rlrun", *args], capture_output=True, text=True,
                        timeout=timeout, env=env, **kwargs)


def popen(*args, cwd=None) -> subprocess.Popen:
  env = dict(os.environ, PYTHONUNBUFFERED="1")
  return subprocess.Popen([sys.executable, "-m", "rlrun", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


def snapshot(root: Path) -> dict:
  """Every file under root with its size and mtime, to prove a command changed nothing."""
  return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
          for p in sorted(root.rglob("*")) if p.is_file()}


def gin(binding: str) -> list:
  return ["--gin-param", binding]
