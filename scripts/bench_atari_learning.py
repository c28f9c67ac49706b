"""Benchmark: what dqn_atari100k.gin learns in the Atari 100k setting, beside published figures.

For each game and seed: `rlrun train --config dqn_atari100k.gin --seed S --gin-param
GAME='G'` (100k agent steps; about 1.5 hours per game and seed on a 2-core CPU), then
`rlrun eval --epsilon 0.001 --episodes N` of the final policy (the Atari 100k protocol
scores the agent at the end of its budget; evaluation acts at random 0.1% of the time).
Runs live in --runs-dir and are kept: a game/seed whose run already finished is only
re-evaluated, an unfinished one resumes, so seeds and games can be added across
invocations (and machines' sessions).

Per game the table reports the score of each seed, their mean, and the same game's
random and human scores and published data-efficient agents' scores at 100k steps, with
the human-normalised score (score - random) / (human - random).

Writes BENCHMARKS.md section "atari-learning", merging with rows already there for games
this invocation did not run. Never part of CI.

Usage:
  python scripts/bench_atari_learning.py --games Pong Breakout Boxing --seeds 0
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

import numpy as np

from benchmarks_md import replace_section, section_rows

REPO = Path(__file__).resolve().parents[1]
SECTION = "atari-learning"
CONFIG = "dqn_atari100k.gin"
FINAL_STEP = 98400  # dqn_atari100k.gin's num_iterations: 100k agent steps with 1600 random


class Reference(NamedTuple):
  random: float
  human: float
  published: str  # "agent score (source); ..." at 100k agent steps


# Random and human: the standard Atari-57 figures. DER (van Hasselt et al. 2019) and
# OTRainbow (Kielak 2019): the SPR authors' score tables (github.com/mila-iqia/spr,
# analysis/100k_comparison.ipynb at 2127aa2 and analysis/byol_replication.ipynb at 061af50).
# DrQ(eps) (Agarwal et al. 2021; DQN with 10-step double-Q returns and augmentation, the agent
# dqn_atari100k.gin follows minus augmentation and dueling): the mean of its 100 runs per game
# in github.com/eloialonso/iris, results/data/DrQ(eps).json at 24326aa.
_SOURCES = ("DER, OTRainbow: github.com/mila-iqia/spr, analysis/100k_comparison.ipynb and "
            "byol_replication.ipynb; DrQ(ε): "
            "mean of 100 runs, github.com/eloialonso/iris, results/data/DrQ(eps).json")
REFERENCES: Dict[str, Reference] = {
    "Pong": Reference(-20.7, 14.6, f"DER -19.3, OTRainbow 1.3, DrQ(ε) -9.1 ({_SOURCES})"),
    "Breakout": Reference(1.7, 30.5, f"DER 1.9, OTRainbow 9.8, DrQ(ε) 19.8 ({_SOURCES})"),
    "Boxing": Reference(0.1, 12.1, f"DER 0.2, OTRainbow 2.5, DrQ(ε) 9.0 ({_SOURCES})"),
}


def finished(root: Path) -> bool:
  path = root / "eval" / "results.jsonl"
  if not path.exists():
    return False
  steps = [json.loads(line)["step"] for line in path.read_text().splitlines() if line.strip()]
  return FINAL_STEP in steps


def train(rlrun: str, game: str, seed: int, root: Path) -> Optional[float]:
  """Trains (or resumes) the run; the minutes it took now, None when it had finished."""
  if finished(root):
    return None
  start = time.monotonic()
  result = subprocess.run([rlrun, "train", "--config", CONFIG, "--root-dir", str(root),
                           "--seed", str(seed), "--gin-param", f"GAME = '{game}'"])
  if result.returncode != 0:
    raise SystemExit(f"{game} seed {seed} failed (exit {result.returncode}); see {root}")
  return (time.monotonic() - start) / 60


def final_score(rlrun: str, root: Path, episodes: int, epsilon: float) -> dict:
  result = subprocess.run([rlrun, "eval", "--root-dir", str(root), "--episodes", str(episodes),
                           "--epsilon", str(epsilon), "--seed", "0", "--json"],
                          capture_output=True, text=True)
  if result.returncode != 0:
    raise SystemExit(f"evaluating {root} failed: {result.stderr.strip()}")
  return json.loads(result.stdout)


def normalised(score: float, reference: Reference) -> float:
  return (score - reference.random) / (reference.human - reference.random)


def row(game: str, seeds: List[int], scores: List[float], episodes: int) -> str:
  reference = REFERENCES[game]
  mean = float(np.mean(scores))
  return (f"| {game} | {', '.join(map(str, seeds))} | "
          f"{', '.join(f'{s:.1f}' for s in scores)} | **{mean:.1f}** | "
          f"{normalised(mean, reference):.3f} | {episodes} | {reference.random:g} | "
          f"{reference.human:g} | {reference.published} |")


HEADER = ["| game | seeds | final score per seed | mean | human-normalised | eval episodes "
          "per seed | random | human | published at 100k steps |",
          "|---|---|---|---|---|---|---|---|---|"]


def write(path: Path, new_rows: Dict[str, str], minutes: Dict[str, float],
          epsilon: float) -> None:
  rows = dict(section_rows(path, SECTION, lambda key: key in REFERENCES), **new_rows)
  timing = "; ".join(f"{k} {v:.0f} min" for k, v in minutes.items())
  lines = ["## Atari 100k: what dqn_atari100k.gin learns (issue 12; "
           "`scripts/bench_atari_learning.py`)", "",
           f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; updated "
           f"{time.strftime('%Y-%m-%d')}. Each seed is one `rlrun train --config {CONFIG} "
           "--seed S --gin-param GAME='G'` run (100k agent steps = 400k frames, no sticky "
           "actions, life loss terminal for learning only), scored at the end by `rlrun eval "
           f"--epsilon {epsilon:g} --seed 0` over the episodes given (whole games). "
           "Human-normalised: "
           "(score - random) / (human - random) of the mean. Published figures are means over "
           "their authors' runs at the same budget."
           + (f" Training time this invocation: {timing}." if timing else ""), ""] + HEADER
  lines += [rows[g] for g in REFERENCES if g in rows]
  replace_section(path, SECTION, lines)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--games", nargs="+", default=["Pong", "Breakout", "Boxing"],
                      choices=sorted(REFERENCES))
  parser.add_argument("--seeds", type=int, nargs="+", default=[0])
  parser.add_argument("--episodes", type=int, default=30,
                      help="evaluation episodes of each final policy")
  parser.add_argument("--epsilon", type=float, default=0.001)
  parser.add_argument("--runs-dir", type=Path,
                      default=Path.home() / ".cache" / "rlrun" / "atari100k",
                      help="where the runs are kept (<Game>-s<seed>)")
  parser.add_argument("--rlrun", default=str(Path(sys.executable).with_name("rlrun")))
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  options = parser.parse_args()
  rows, minutes = {}, {}
  for game in options.games:
    scores = []
    for seed in options.seeds:
      root = options.runs_dir / f"{game}-s{seed}"
      took = train(options.rlrun, game, seed, root)
      if took is not None:
        minutes[f"{game} seed {seed}"] = took
      result = final_score(options.rlrun, root, options.episodes, options.epsilon)
      scores.append(result["AverageReturn"])
      print(f"{game} seed {seed}: {result['AverageReturn']:.1f} over {result['NumEpisodes']} "
            f"episodes (train step {result['train_step']})", flush=True)
    rows[game] = row(game, options.seeds, scores, options.episodes)
    print(rows[game], flush=True)
    write(options.output, rows, minutes, options.epsilon)


if __name__ == "__main__":
  main()
