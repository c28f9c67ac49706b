"""Replay diagnostics: what the table holds and how fast it fills and empties, as `replay/` summaries.

Read from the table's own counters (Reverb's server_info, or LocalReplay's), so the
single-process run and a distributed learner (whose table lives in another process)
report the same way:

  replay/size, replay/fill            items held, and the share of the capacity
  replay/inserts_per_second           items inserted since the last report, per second
  replay/samples_per_second           items sampled (prefetched batches included), per second
  replay/samples_per_insert           samples / inserts since the table (or process) started
  replay/samples_per_insert_target    the rate limiter's ratio, when one is configured

and, from the last sampled batches (rlrun.train.learner.sample_stats; Reverb tables):

  replay/times_sampled_mean, _max     times those items have been sampled, this one included
  replay/priority_min, _mean, _max    their priorities (prioritized tables)
  replay/effective_sample_size        of the batch's importance weights, / batch size
  replay/staleness_mean, _max         train steps since those items were written (tables
                                      that ignore priorities: each item's priority is the
                                      train step it was written at)
"""

import time
from typing import Callable, Dict, Optional

# Reverb reports an unlimited rate limiter as a max_diff of about 1.8e308.
_UNLIMITED = 1e300


def reverb_counters(client, table_name: str, timeout_s: int = 10) -> Dict[str, float]:
  """size, capacity, inserts, samples (and target_ratio when limited) of a Reverb table."""
  info = client.server_info(timeout=timeout_s)[table_name]
  limiter = info.rate_limiter_info
  counters = {"size": float(info.current_size), "capacity": float(info.max_size),
              "inserts": float(limiter.insert_stats.completed),
              "samples": float(limiter.sample_stats.completed)}
  if abs(limiter.max_diff) < _UNLIMITED:
    counters["target_ratio"] = float(limiter.samples_per_insert)
  return counters


class ReplayDiagnostics:
  """Turns a table's counters into the `replay/` values (see the module docstring).

  Args:
    counters: () -> {'size', 'capacity', 'inserts', 'samples'[, 'target_ratio']}.
    clock: seconds, for the rates.
  """

  def __init__(self, counters: Callable[[], Dict[str, float]],
               clock: Callable[[], float] = time.monotonic):
    self._counters = counters
    self._clock = clock
    self._last: Optional[Dict[str, float]] = None
    self._last_time = 0.0

  def measure(self) -> Dict[str, float]:
    """The values now; the rates cover the time since the previous call (none the first
    time). {} when the counters cannot be read (a remote server that does not answer)."""
    now = self._clock()
    try:
      counters = self._counters()
    except Exception:  # pylint: disable=broad-except  (diagnostics never stop training)
      return {}
    values = {"size": counters["size"],
              "fill": counters["size"] / counters["capacity"] if counters["capacity"] else 0.0}
    if counters["inserts"]:
      values["samples_per_insert"] = counters["samples"] / counters["inserts"]
    if "target_ratio" in counters:
      values["samples_per_insert_target"] = counters["target_ratio"]
    if self._last is not None and now > self._last_time:
      seconds = now - self._last_time
      values["inserts_per_second"] = (counters["inserts"] - self._last["inserts"]) / seconds
      values["samples_per_second"] = (counters["samples"] - self._last["samples"]) / seconds
    self._last, self._last_time = counters, now
    return values
