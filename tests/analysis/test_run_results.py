import json
import re

import numpy as np
import pytest

from rlrun.analysis.run_results import find_runs
from rlrun.errors import UserError

from run_dirs import make_run


def test_find_runs_walks_below_a_directory_in_path_order(study):
  runs = find_runs([str(study)])
  assert [r.root.relative_to(study).as_posix() for r in runs] == [
      "a-seed0", "a-seed1", "a-seed2", "a-seed3", "b/seed0", "b/seed1"]
  assert [r.config for r in runs] == ["a.gin"] * 4 + ["b.gin"] * 2
  # A run named twice (directly and through its parent) is read once.
  assert len(find_runs([str(study / "a-seed1"), str(study)])) == 6


def test_binding_prefers_the_newest_gin_param_then_the_config(study):
  run = find_runs([str(study / "a-seed1")])[0]
  assert run.binding("tf.keras.optimizers.Adam.learning_rate") == "0.01"
  assert run.binding("train.Experiment.num_iterations") == "100"  # config.gin's line
  assert run.binding("train.Experiment.nothing") is None


def test_eval_curve_on_each_x_axis(study):
  run = find_runs([str(study / "a-seed2")])[0]
  xs, ys = run.eval_curve("AverageReturn", "step")
  np.testing.assert_array_equal(xs, [0, 10, 20])
  np.testing.assert_array_equal(ys, [0.0, 20.0, 102.0])
  np.testing.assert_array_equal(run.eval_curve("AverageReturn", "env_steps")[0], [0, 40, 80])
  np.testing.assert_array_equal(run.eval_curve("AverageReturn", "wall_time")[0], [0, 10, 20])
  b = find_runs([str(study / "b" / "seed0")])[0]
  with pytest.raises(UserError, match="do not record env_steps; choose another --x"):
    b.eval_curve("AverageReturn", "env_steps")


def test_deterministic_runs_get_their_times_from_timings_jsonl(tmp_path):
  root = make_run(tmp_path / "det", "a.gin", 0, {0: 1.0, 5: 2.0})
  records = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  (root / "eval" / "results.jsonl").write_text("".join(
      json.dumps({k: v for k, v in r.items() if k != "wall_time"}) + "\n" for r in records))
  (root / "eval" / "timings.jsonl").write_text(
      '{"step": 0, "wall_time": 50.0}\n{"step": 5, "wall_time": 80.0}\n')
  xs, _ = find_runs([str(root)])[0].eval_curve("AverageReturn", "wall_time")
  np.testing.assert_array_equal(xs, [0.0, 30.0])


@pytest.mark.parametrize("name, message", [
    ("missing", "does not exist"), ("file", "is a file"), ("empty", "holds no rlrun run")])
def test_find_runs_refuses_paths_without_runs(tmp_path, name, message):
  (tmp_path / "file").write_text("x")
  (tmp_path / "empty" / "sub").mkdir(parents=True)
  with pytest.raises(UserError, match=message):
    find_runs([str(tmp_path / name)])


def test_a_corrupt_run_json_is_named(tmp_path):
  root = make_run(tmp_path / "r", "a.gin", 0, {0: 1.0})
  (root / "run.json").write_text("{")
  with pytest.raises(UserError, match=r"run.json is unreadable"):
    find_runs([str(root)])


@pytest.mark.parametrize("file, content, message", [
    ("run.json", "[]", "a JSON list, not an object"),
    ("run.json", '{"sessions": ["x"]}', "'sessions' is not a list of objects"),
    ("run.json", '{"sessions": [{"end": {"step": 3}}]}', "session 1's 'end' does not name"),
    ("run.json", '{"sessions": [{"start_time": 5}]}', "session 1's 'start_time' is not a string"),
    ("run.json", '{"sessions": [{"end": {"state": "finished", "step": "9"}}]}',
     "session 1's end step is not an integer"),
    ("eval/results.jsonl", "[1, 2]\n", "line 1 has no integer 'step'"),
    ("eval/results.jsonl", '{"AverageReturn": 1.0}\n', "line 1 has no integer 'step'"),
    ("eval/results.jsonl", '{"step": 0, "AverageReturn": "high"}\n',
     "line 1's AverageReturn is not a number"),
    ("eval/results.jsonl", b"\xff\xfe{", "results.jsonl is unreadable"),
    ("eval/results.jsonl", '{"step": 0, "AverageReturn": null}\n',
     "line 1's AverageReturn is not a number"),
    ("eval/timings.jsonl", '{"step": 0, "wall_time": "noon"}\n',
     "timings.jsonl is malformed (line 1's wall_time is not a number)"),
    ("run.json", '{"sessions": [{"bindings": [1]}]}', "'bindings' is not a list of strings"),
    ("run.json", "[" * 100000 + "]" * 100000, "run.json is unreadable"),
])
def test_malformed_run_files_are_named(tmp_path, file, content, message):
  root = make_run(tmp_path / "r", "a.gin", 0, {0: 1.0})
  path = root / file
  if isinstance(content, bytes):
    path.write_bytes(content)
  else:
    path.write_text(content)
  with pytest.raises(UserError, match=re.escape(message)):
    find_runs([str(root)])


def test_env_steps_curve_skips_evaluations_made_before_any_count(tmp_path):
  """A distributed run's step-0 evaluation can precede the actors' first status file."""
  root = make_run(tmp_path / "run", "a.gin", 0, {0: 1.0, 10: 2.0, 20: 3.0}, env_steps_per_step=4)
  path = root / "eval" / "results.jsonl"
  records = [json.loads(l) for l in path.read_text().splitlines()]
  del records[0]["env_steps"]
  path.write_text("".join(json.dumps(r) + "\n" for r in records))
  [run] = find_runs([str(root)])
  xs, ys = run.eval_curve("AverageReturn", "env_steps")
  assert xs.tolist() == [40.0, 80.0] and ys.tolist() == [2.0, 3.0]
  for record in records:
    record.pop("env_steps", None)
  path.write_text("".join(json.dumps(r) + "\n" for r in records))
  with pytest.raises(UserError, match="do not record env_steps"):
    find_runs([str(root)])[0].eval_curve("AverageReturn", "env_steps")
