"""Schedules: functions of the train step (e.g. a decaying exploration epsilon)."""

import gin
import tensorflow as tf


@gin.configurable(module="schedules")
def linear_decay(step, initial: float = 1.0, final: float = 0.05,
                 decay_steps: int = 10000) -> tf.Tensor:
  """Goes linearly from `initial` to `final` over `decay_steps`, then stays at `final`."""
  if decay_steps <= 0:
    raise ValueError(f"decay_steps must be positive, got {decay_steps}")
  fraction = tf.minimum(tf.cast(step, tf.float32) / float(decay_steps), 1.0)
  return initial + fraction * (final - initial)
