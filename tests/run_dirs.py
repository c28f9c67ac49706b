"""Synthetic run directories for the analysis and listing tests: run.json and
eval/results.jsonl written by hand."""

import json
from pathlib import Path
from typing import Dict, Sequence


def make_run(root: Path, config: str, seed: int, returns: Dict[int, float],
             bindings: Sequence[str] = (), env_steps_per_step: int = 0) -> Path:
  """A run dir whose evaluations at steps `returns` keys scored the values."""
  (root / "eval").mkdir(parents=True)
  (root / "run.json").write_text(json.dumps({
      "config": config, "seed": seed,
      "sessions": [{"seed": seed, "bindings": list(bindings)}]}))
  (root / "config.gin").write_text("train.Experiment.num_iterations = 100\n"
                                   "tf.keras.optimizers.Adam.learning_rate = 1e-3\n")
  lines = []
  for i, (step, value) in enumerate(sorted(returns.items())):
    record = {"AverageReturn": value, "AverageEpisodeLength": 2 * value, "NumEpisodes": 3,
              "step": step, "wall_time": 1000.0 + 10 * i, "eval_seconds": 0.5}
    if env_steps_per_step:
      record["env_steps"] = step * env_steps_per_step
    lines.append(json.dumps(record))
  (root / "eval" / "results.jsonl").write_text("\n".join(lines) + "\n")
  return root
