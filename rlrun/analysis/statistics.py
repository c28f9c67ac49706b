"""Aggregates over runs (mean, IQM) and their 95% bootstrap intervals, with numpy only.

The interval follows rliable's percentile bootstrap: the runs are resampled with
replacement (within each task, i.e. stratified; a group here is one task), the aggregate is
recomputed on each resample, and the 2.5th and 97.5th percentiles are the bounds.
"""

from typing import Callable, Dict, Tuple

import numpy as np

REPETITIONS = 2000


def mean(values: np.ndarray) -> np.ndarray:
  """The mean over axis 0 (the runs)."""
  return np.asarray(values, np.float64).mean(axis=0)


def iqm(values: np.ndarray) -> np.ndarray:
  """The interquartile mean over axis 0: the mean of the middle half of the runs.

  int(0.25 * n) runs are cut from each end, as scipy's trim_mean(values, 0.25) (which
  rliable uses) does; below 4 runs nothing is cut and the IQM is the mean.
  """
  values = np.sort(np.asarray(values, np.float64), axis=0)
  cut = int(0.25 * values.shape[0])
  return values[cut:values.shape[0] - cut].mean(axis=0)


AGGREGATES: Dict[str, Callable[[np.ndarray], np.ndarray]] = {"mean": mean, "iqm": iqm}


def bootstrap_interval(values: np.ndarray, aggregate: Callable[[np.ndarray], np.ndarray] = iqm,
                       repetitions: int = REPETITIONS,
                       seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
  """The 95% percentile-bootstrap interval of `aggregate` over axis 0 of `values`.

  Args:
    values: [runs] or [runs, points] (e.g. each run's return at each evaluation step).
    aggregate: mean or iqm (reduces axis 0).
    repetitions: resamples drawn.
    seed: seeds the resampling, so the same runs always give the same interval.

  Returns:
    (low, high), each of the shape of one run's values.
  """
  values = np.asarray(values, np.float64)
  rng = np.random.default_rng(seed)
  picks = rng.integers(0, values.shape[0], size=(repetitions, values.shape[0]))
  samples = np.stack([aggregate(values[p]) for p in picks])
  return np.percentile(samples, 2.5, axis=0), np.percentile(samples, 97.5, axis=0)
