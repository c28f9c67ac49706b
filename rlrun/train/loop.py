"""The algorithm-agnostic loop: groups of iterations up to num_iterations, triggers on multiples.

The loop knows nothing of agents or replay. It asks `work(count)` to run `count`
iterations (collect and train, whatever the algorithm means by that), reads the
iteration reached, updates the progress line and calls its triggers. Groups end on
every trigger's interval boundary, so a trigger with interval k fires at exactly
k, 2k, 3k... iterations, whatever the group size or steps per iteration.
"""

from typing import Any, Callable, Optional, Sequence

from rlrun.train.interrupts import StopRequest
from rlrun.train.progress import Progress
from rlrun.train.triggers import IntervalTrigger


def next_group(iteration: int, num_iterations: int, max_group: int,
               intervals: Sequence[int]) -> int:
  """Iterations in the next group: at most max_group, ending on the next multiple of each interval."""
  limit = min(max_group, num_iterations - iteration)
  for interval in intervals:
    if interval:
      limit = min(limit, (iteration // interval + 1) * interval - iteration)
  return max(1, limit)


class Loop:
  """Runs groups of iterations.

  Args:
    num_iterations: the iteration to stop at.
    max_group: the largest group (settings.iterations_per_call; 1 for on-policy).
    triggers: IntervalTriggers called with the iteration after every group.
    progress: the progress display.
  """

  def __init__(self, num_iterations: int, max_group: int, triggers: Sequence[IntervalTrigger],
               progress: Progress):
    self.num_iterations = num_iterations
    self.max_group = max(1, max_group)
    self.triggers = list(triggers)
    self.progress = progress

  def reset(self, iteration: int) -> None:
    for trigger in self.triggers:
      trigger.reset(iteration)

  def next_group(self, iteration: int) -> int:
    return next_group(iteration, self.num_iterations, self.max_group,
                      [t.interval for t in self.triggers])

  def run(self, start: int, work: Callable[[int], Any], current: Callable[[], int],
          stop: StopRequest, loss_value: Callable[[Any], Optional[float]] = lambda _: None) -> int:
    """Runs groups from iteration `start` until num_iterations or a stop request.

    Args:
      start: the iteration to start from.
      work: work(count) runs `count` iterations; returns what loss_value reads.
      current: the iteration reached (read after each group).
      stop: checked between groups.
      loss_value: the progress line's loss from work's result.

    Returns:
      The iteration reached.
    """
    iteration = start
    while iteration < self.num_iterations and not stop.requested:
      result = work(self.next_group(iteration))
      iteration = current()
      loss = loss_value(result)
      if loss is not None:
        self.progress.loss = loss
      self.progress.update(iteration)
      for trigger in self.triggers:
        trigger(iteration)
    return iteration
