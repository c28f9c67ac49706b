"""Target-network updates: Polyak averaging every `period` train steps.

Both functions also run inside `strategy.run` of a tf.distribute strategy: the update
then happens once, in cross-replica context, on every replica's copy of the target.
"""

from typing import Sequence

import tensorflow as tf


def _check(source: Sequence[tf.Variable], target: Sequence[tf.Variable]) -> None:
  if len(source) != len(target):
    raise ValueError(f"source has {len(source)} variables but target has {len(target)}; "
                     "the target network must be a copy of the source")
  for s, t in zip(source, target):
    if s.shape != t.shape:
      raise ValueError(f"variable {s.name} {s.shape} does not match target {t.name} {t.shape}")


def _in_replica_context_of_a_strategy() -> bool:
  return tf.distribute.has_strategy() and not tf.distribute.in_cross_replica_context()


def _blend(t, s, tau: float):
  return t.assign(s if tau == 1.0 else tau * s + (1.0 - tau) * t)


def _update_all_replicas(strategy, source, target, tau: float) -> None:
  """Cross-replica context: updates each device's copy of `target` from its `source`."""
  for s, t in zip(source, target):
    strategy.extended.update(t, _blend, args=(s, tau))


def soft_update(source: Sequence[tf.Variable], target: Sequence[tf.Variable],
                tau: float = 1.0) -> None:
  """target <- tau * source + (1 - tau) * target, variable by variable (tau=1 copies)."""
  _check(source, target)
  if _in_replica_context_of_a_strategy():
    tf.distribute.get_replica_context().merge_call(
        lambda strategy: _update_all_replicas(strategy, source, target, tau))
    return
  for s, t in zip(source, target):
    _blend(t, s, tau)


def periodic_soft_update(step: tf.Tensor, period: int, source: Sequence[tf.Variable],
                         target: Sequence[tf.Variable], tau: float = 1.0) -> None:
  """Runs soft_update when `step` is a multiple of `period` (graph- and XLA-safe)."""
  if period == 1:
    soft_update(source, target, tau)
    return
  _check(source, target)
  def update_if_due(strategy=None):
    def update():
      if strategy is None:
        soft_update(source, target, tau)
      else:
        _update_all_replicas(strategy, source, target, tau)
      return tf.constant(True)
    tf.cond(tf.equal(step % period, 0), update, lambda: tf.constant(False))
  if _in_replica_context_of_a_strategy():
    # A replica cannot synchronise inside tf.cond: decide in cross-replica context.
    tf.distribute.get_replica_context().merge_call(update_if_due)
  else:
    update_if_due()
