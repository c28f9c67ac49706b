import numpy as np
import pytest

from rlrun.analysis import statistics


def test_iqm_cuts_a_quarter_from_each_end():
  # 8 runs: the two lowest and two highest are dropped.
  values = np.array([100.0, -50.0, 1.0, 2.0, 3.0, 4.0, 7.0, 1000.0])
  assert statistics.iqm(values) == pytest.approx((2.0 + 3.0 + 4.0 + 7.0) / 4)
  # Below four runs nothing is cut.
  assert statistics.iqm(np.array([1.0, 2.0, 9.0])) == pytest.approx(4.0)


def test_iqm_reduces_each_point_of_a_curve_separately():
  curves = np.array([[0.0, 10.0], [1.0, 30.0], [2.0, 20.0], [3.0, 40.0]])
  np.testing.assert_allclose(statistics.iqm(curves), [1.5, 25.0])


def test_bootstrap_interval_of_two_runs_spans_them():
  # Resamples of two runs are {a, a}, {a, b}, {b, b}: the 2.5th and 97.5th percentiles
  # of 2000 draws are the two runs themselves.
  low, high = statistics.bootstrap_interval(np.array([[1.0], [5.0]]), statistics.mean)
  assert (low[0], high[0]) == (1.0, 5.0)


def test_bootstrap_interval_is_seeded_and_narrows_with_agreeing_runs():
  values = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
  first = statistics.bootstrap_interval(values, statistics.iqm, seed=3)
  assert first == statistics.bootstrap_interval(values, statistics.iqm, seed=3)
  low, high = first
  assert 1.0 <= low < statistics.iqm(values) < high <= 6.0
  same = statistics.bootstrap_interval(np.full(6, 7.0))
  assert same == (7.0, 7.0)
