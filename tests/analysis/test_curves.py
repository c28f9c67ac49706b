import numpy as np
import pytest

from rlrun.analysis import curves
from rlrun.analysis.run_results import find_runs
from rlrun.errors import UserError

from run_dirs import make_run


def test_groups_by_config_with_iqm_and_bootstrap_band(study):
  a, b = curves.group_curves(find_runs([str(study)]), "AverageReturn", "step", "config", "iqm")
  assert (a.label, len(a.runs), b.label, len(b.runs)) == ("a.gin", 4, "b.gin", 2)
  np.testing.assert_array_equal(a.x, [0, 10, 20])
  # Step 10: runs 0, 10, 20, 30 -> middle half 10, 20. Step 20: 100..103 -> 101, 102.
  np.testing.assert_allclose(a.center, [0.0, 15.0, 101.5])
  assert a.low[0] == a.high[0] == 0.0
  assert 0.0 <= a.low[1] < 15.0 < a.high[1] <= 30.0
  # Two runs: the band spans them.
  np.testing.assert_allclose(b.center, [5.0, 60.0, 70.0])
  np.testing.assert_allclose(b.low, [5.0, 50.0, 60.0])
  np.testing.assert_allclose(b.high, [5.0, 70.0, 80.0])


def test_groups_by_a_binding_value(study):
  runs = [r for r in find_runs([str(study)]) if r.config == "a.gin"]
  slow, fast = curves.group_curves(runs, "AverageReturn", "step",
                                   "tf.keras.optimizers.Adam.learning_rate", "mean")
  assert slow.label == "tf.keras.optimizers.Adam.learning_rate=0.001"  # seeds 0 and 2
  np.testing.assert_allclose(slow.center, [0.0, 10.0, 101.0])
  assert fast.label == "tf.keras.optimizers.Adam.learning_rate=0.01"  # seeds 1 and 3
  np.testing.assert_allclose(fast.center, [0.0, 20.0, 102.0])


def test_a_group_binding_that_a_run_lacks_is_refused(study):
  with pytest.raises(UserError, match="does not bind agents.DqnAgent.gamma"):
    curves.group_curves(find_runs([str(study)]), "AverageReturn", "step",
                        "agents.DqnAgent.gamma", "iqm")


def test_runs_evaluated_at_other_steps_are_interpolated_over_their_shared_range(tmp_path):
  make_run(tmp_path / "r0", "c.gin", 0, {0: 0.0, 10: 10.0, 20: 20.0})
  make_run(tmp_path / "r1", "c.gin", 1, {0: 0.0, 4: 8.0, 12: 24.0})
  (curve,) = curves.group_curves(find_runs([str(tmp_path)]), "AverageReturn", "step",
                                 "config", "mean")
  # The union of their steps within [0, 12]; r0 at 4 is 4, at 12 is 12; r1 at 10 is 20.
  np.testing.assert_array_equal(curve.x, [0, 4, 10, 12])
  np.testing.assert_allclose(curve.center, [0.0, 6.0, 15.0, 18.0])


def test_unknown_metric_lists_the_known_ones(study):
  with pytest.raises(UserError, match=r"no metric 'Return'; choose --metric from "
                     r"AverageEpisodeLength, AverageReturn, NumEpisodes, eval_seconds"):
    curves.group_curves(find_runs([str(study)]), "Return", "step", "config", "iqm")


def test_a_run_without_evaluations_is_named(tmp_path):
  (tmp_path / "r" / "eval").mkdir(parents=True)
  (tmp_path / "r" / "eval" / "results.jsonl").write_text("")
  with pytest.raises(UserError, match="has no evaluation results yet"):
    curves.group_curves(find_runs([str(tmp_path / "r")]), "AverageReturn", "step", "config",
                        "iqm")
