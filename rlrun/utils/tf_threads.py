"""TensorFlow's intra-op thread count, set from a run's settings before its first op.

TensorFlow splits each op (a matmul, a reduction) over one thread per core by default. In a
run whose collection overlaps training on a heavy environment (pybullet's Minitaur), the
environment needs a core of its own while the learner trains, and the train step's ops
split over both cores fight it for them: one intra-op thread for the learner made
sac_minitaur.gin's loop 1.20x as fast on 2 cores, in paired runs (BENCHMARKS.md, "SAC
Minitaur").
"""

from typing import Optional

from absl import logging
import tensorflow as tf


def set_intra_op_threads(threads: Optional[int], asked: bool = True) -> None:
  """Makes TensorFlow split each op over at most `threads` threads (None: leave TF's default).

  TensorFlow fixes the count when its runtime starts (the first op of the process), so a
  process that already ran ops with another count keeps it, with a warning when the config
  `asked` for the count (an info line when --fast chose it): several runs built in one
  Python process (the library API, tests) share the first one's setting.
  """
  if threads is None:
    return
  current = tf.config.threading.get_intra_op_parallelism_threads()
  if current == threads:
    return
  try:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
  except RuntimeError:
    log = logging.warning if asked else logging.info
    log("train.Experiment.intra_op_threads = %d not applied: TensorFlow already runs in this "
        "process with %s intra-op threads (0: one per core); it applies in a process of its "
        "own, as `rlrun train` runs", threads, current)
