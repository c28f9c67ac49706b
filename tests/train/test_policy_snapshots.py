import json
from pathlib import Path

from rlrun.train import policy_snapshots


class FakeSaver:
  def __init__(self):
    self.saved = []

  def save(self, path):
    self.saved.append(path)
    Path(path).mkdir(parents=True)
    (Path(path) / "saved_model.pb").write_text(str(len(self.saved)))


def test_snapshots_copy_the_policy_and_keep_the_newest(tmp_path):
  (tmp_path / "policy").mkdir()
  for step in (100, 200, 300, 400):
    (tmp_path / "policy" / "saved_model.pb").write_text(f"at {step}")
    policy_snapshots.snapshot(tmp_path, step, keep=3)
  assert policy_snapshots.snapshot_steps(tmp_path) == [200, 300, 400]
  assert (tmp_path / "step_300" / "saved_model.pb").read_text() == "at 300"
  assert not list(tmp_path.glob(".*"))  # no partial or old directories left
  policy_snapshots.snapshot(tmp_path, 500, keep=0)  # 0: none kept, none made
  assert policy_snapshots.snapshot_steps(tmp_path) == [200, 300, 400]


def test_best_policy_is_replaced_only_by_a_better_evaluation(tmp_path):
  saver = FakeSaver()
  best = policy_snapshots.BestPolicy(tmp_path, saver, [{"AverageReturn": 10.0, "step": 0}])
  assert not best.offer({"AverageReturn": 10.0, "step": 100})  # ties keep the earlier one
  assert not (tmp_path / "best").exists()
  assert best.offer({"AverageReturn": 30.0, "step": 200})
  assert not best.offer({"AverageReturn": 20.0, "step": 300})
  assert best.offer({"AverageReturn": 40.0, "step": 400})
  assert json.loads((tmp_path / "best" / "rlrun_best.json").read_text()) == {
      "step": 400, "AverageReturn": 40.0}
  assert (tmp_path / "best" / "saved_model.pb").read_text() == "2"
  assert not list(tmp_path.glob(".*"))
