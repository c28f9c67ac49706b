"""Where the commands may write their outputs: never into what rlrun writes in a run."""

import pytest

from rlrun.commands.output_files import checked_output, refuse_run_state
from rlrun.errors import UserError


def _run(root):
  (root / "eval").mkdir(parents=True)
  (root / "run.json").write_text("{}")
  return root


@pytest.mark.parametrize("inside", ["policies/policy/p.png", "checkpoints/x.csv", "replay/a",
                                    "eval/c.csv", "train/p.svg", "policies"])
def test_a_runs_own_parts_are_refused(tmp_path, inside):
  run = _run(tmp_path / "run")
  with pytest.raises(UserError, match=f"inside {run / inside.split('/')[0]}, which rlrun "
                                      "writes"):
    refuse_run_state("--output", inside, run / inside)


def test_the_run_itself_its_outputs_and_places_outside_it_are_fine(tmp_path):
  run = _run(tmp_path / "run")
  for place in (run / "plot.png", run / "videos" / "v.mp4", run / "exports" / "p.onnx",
                tmp_path / "elsewhere" / "p.png"):
    refuse_run_state("--output", str(place), place)


def test_a_run_nested_in_another_runs_parts_is_refused_and_links_are_followed(tmp_path):
  outer = _run(tmp_path / "outer")
  inner = _run(outer / "train" / "inner")
  with pytest.raises(UserError, match="outer/train, which rlrun writes"):
    refuse_run_state("--output", "p.png", inner / "p.png")
  (tmp_path / "link").symlink_to(outer / "checkpoints", target_is_directory=True)
  (outer / "checkpoints").mkdir()
  with pytest.raises(UserError, match="outer/checkpoints"):
    checked_output("--csv", str(tmp_path / "link" / "t.csv"), (".csv",))


def test_a_run_marked_only_by_its_evaluations_counts_as_a_run(tmp_path):
  run = tmp_path / "old"
  (run / "eval").mkdir(parents=True)
  (run / "eval" / "results.jsonl").write_text("")
  with pytest.raises(UserError, match="old/replay"):
    refuse_run_state("--output", "x", run / "replay" / "x.png")
