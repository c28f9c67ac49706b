"""Target-network updates: Polyak averaging every `period` train steps."""

from typing import Sequence

import tensorflow as tf


def soft_update(source: Sequence[tf.Variable], target: Sequence[tf.Variable],
                tau: float = 1.0) -> None:
  """target <- tau * source + (1 - tau) * target, variable by variable (tau=1 copies)."""
  if len(source) != len(target):
    raise ValueError(f"source has {len(source)} variables but target has {len(target)}; "
                     "the target network must be a copy of the source")
  for s, t in zip(source, target):
    if s.shape != t.shape:
      raise ValueError(f"variable {s.name} {s.shape} does not match target {t.name} {t.shape}")
    t.assign(s if tau == 1.0 else tau * s + (1.0 - tau) * t)


def periodic_soft_update(step: tf.Tensor, period: int, source: Sequence[tf.Variable],
                         target: Sequence[tf.Variable], tau: float = 1.0) -> None:
  """Runs soft_update when `step` is a multiple of `period` (graph- and XLA-safe)."""
  if period == 1:
    soft_update(source, target, tau)
    return
  def update():
    soft_update(source, target, tau)
    return tf.constant(True)
  tf.cond(tf.equal(step % period, 0), update, lambda: tf.constant(False))
