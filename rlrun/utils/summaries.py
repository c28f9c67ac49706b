"""A summary writer created on first use, so building a run writes nothing to disk."""

import tensorflow as tf


class LazySummaryWriter:
  """Wraps tf.summary.create_file_writer(logdir), created at the first `as_default`."""

  def __init__(self, logdir: str):
    self._logdir = logdir
    self._writer = None

  def _get(self):
    if self._writer is None:
      self._writer = tf.summary.create_file_writer(self._logdir)
    return self._writer

  def as_default(self, step=None):
    return self._get().as_default(step=step)

  def flush(self) -> None:
    if self._writer is not None:
      self._writer.flush()
