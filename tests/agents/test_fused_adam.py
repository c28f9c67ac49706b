"""fused_adam: one ResourceApplyAdam per variable does what Keras' Adam step does, on the
optimizer's own slots and counter; every other optimizer is left to Keras."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.agents import fused_adam
from rlrun.agents.tf_agent import apply_gradients

SHAPES = [(4, 16), (16,), (16, 1)]


def _variables(seed=0):
  rng = np.random.default_rng(seed)
  return [tf.Variable(rng.normal(size=shape).astype(np.float32)) for shape in SHAPES]


def _gradients(rng):
  return [tf.constant(rng.normal(size=shape).astype(np.float32)) for shape in SHAPES]


@pytest.mark.parametrize("learning_rate", [
    3e-3, tf.keras.optimizers.schedules.PolynomialDecay(1e-2, 20, end_learning_rate=1e-4)])
def test_fused_steps_match_keras_adam_slots_counter_and_schedule(learning_rate):
  keras_vars, fused_vars = _variables(), _variables()
  keras_opt = tf.keras.optimizers.Adam(learning_rate, beta_1=0.8, epsilon=1e-5)
  fused_opt = tf.keras.optimizers.Adam(learning_rate, beta_1=0.8, epsilon=1e-5)
  keras_opt.build(keras_vars)
  fused_opt.build(fused_vars)
  applied = []

  @tf.function(autograph=False)
  def step(gradients):
    keras_opt.apply_gradients(zip(gradients, keras_vars))
    applied.append(fused_adam.apply(fused_opt, gradients, fused_vars))

  rng = np.random.default_rng(1)
  for _ in range(30):
    step(_gradients(rng))
  assert applied == [True]  # traced once, on the fused path
  assert int(fused_opt.iterations) == int(keras_opt.iterations) == 30
  assert float(fused_opt.learning_rate) == pytest.approx(float(keras_opt.learning_rate))
  for ours, theirs in zip(fused_opt.variables, keras_opt.variables):  # moments included
    # The kernel forms 1 - beta in float32 (Keras in double): ~1e-5 relative in the moments.
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-4)
  for ours, theirs, initial in zip(fused_vars, keras_vars, _variables()):
    ours_moved, theirs_moved = ours.numpy() - initial.numpy(), theirs.numpy() - initial.numpy()
    scale = np.abs(theirs_moved).max()
    assert np.median(np.abs(theirs_moved)) > 1e-3  # the steps moved them: the check means something
    np.testing.assert_allclose(ours_moved, theirs_moved, rtol=1e-4, atol=1e-4 * scale)


def test_a_fused_step_in_an_xla_function_is_read_back_by_what_follows_it():
  """rlrun's learners compile their steps with XLA; a loss after the step sees the new values."""
  keras_vars, fused_vars = _variables(), _variables()
  keras_opt, fused_opt = tf.keras.optimizers.Adam(1e-2), tf.keras.optimizers.Adam(1e-2)
  keras_opt.build(keras_vars)
  fused_opt.build(fused_vars)
  gradients = _gradients(np.random.default_rng(4))

  @tf.function(jit_compile=True, autograph=False)
  def steps():
    sums = []
    for _ in range(2):
      keras_opt.apply_gradients(zip(gradients, keras_vars))
      fused_adam.apply(fused_opt, gradients, fused_vars)
      sums.append((tf.reduce_sum(keras_vars[0]), tf.reduce_sum(fused_vars[0])))
    return sums

  (keras_1, fused_1), (keras_2, fused_2) = [(float(a), float(b)) for a, b in steps()]
  initial = float(tf.reduce_sum(_variables()[0]))
  assert keras_1 != initial and keras_2 != keras_1  # each read saw a step
  assert fused_1 == pytest.approx(keras_1, abs=1e-4) and fused_2 == pytest.approx(keras_2, abs=1e-4)
  assert int(fused_opt.iterations) == 2


class _OwnAdam(tf.keras.optimizers.Adam):
  """A subclass may change the step: it is left to Keras."""


@pytest.mark.parametrize("make", [
    lambda: tf.keras.optimizers.Adam(1e-3, amsgrad=True),
    lambda: tf.keras.optimizers.Adam(1e-3, clipnorm=1.0),
    lambda: tf.keras.optimizers.Adam(1e-3, clipvalue=0.5),
    lambda: tf.keras.optimizers.Adam(1e-3, global_clipnorm=1.0),
    lambda: tf.keras.optimizers.Adam(1e-3, weight_decay=0.1),
    lambda: tf.keras.optimizers.Adam(1e-3, use_ema=True),
    lambda: _OwnAdam(1e-3),
    lambda: tf.keras.optimizers.SGD(1e-3),
], ids=["amsgrad", "clipnorm", "clipvalue", "global_clipnorm", "weight_decay", "ema",
        "subclass", "sgd"])
def test_other_optimizers_are_left_to_keras(make):
  variables, optimizer = _variables(), make()
  optimizer.build(variables)  # built: only the option itself can refuse the fused step
  gradients = _gradients(np.random.default_rng(2))
  assert not fused_adam.apply(optimizer, gradients, variables)
  assert fused_adam.apply(tf.keras.optimizers.Adam(1e-3), gradients, variables) is False
  before = [v.numpy() for v in variables]
  apply_gradients(optimizer, gradients, variables)  # the Keras way: it still steps
  assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, variables))


def test_the_legacy_adam_is_left_to_keras():
  variables, optimizer = _variables(), tf.keras.optimizers.legacy.Adam(1e-3)
  gradients = _gradients(np.random.default_rng(2))
  apply_gradients(optimizer, gradients, variables)  # creates its slots
  assert not fused_adam.apply(optimizer, gradients, variables)


def test_an_adam_made_under_a_strategy_is_left_to_keras():
  variables = _variables()
  with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
    optimizer = tf.keras.optimizers.Adam(1e-3)
  optimizer.build(variables)
  assert not fused_adam.apply(optimizer, _gradients(np.random.default_rng(2)), variables)


def test_what_a_fused_step_cannot_take_is_refused_without_touching_anything():
  variables, optimizer = _variables(), tf.keras.optimizers.Adam(1e-3)
  gradients = _gradients(np.random.default_rng(3))
  assert not fused_adam.apply(optimizer, gradients, variables)  # not built for them yet
  optimizer.build(variables)
  assert not fused_adam.apply(optimizer, [None] + gradients[1:], variables)
  sparse = tf.IndexedSlices(gradients[1], tf.range(16))
  assert not fused_adam.apply(optimizer, [gradients[0], sparse, gradients[2]], variables)
  assert not fused_adam.apply(optimizer, gradients[:2], variables)  # one gradient short
  unknown = tf.Variable(np.ones(SHAPES[2], np.float32))  # not a variable it was built for
  assert not fused_adam.apply(optimizer, gradients, variables[:2] + [unknown])
  constrained = tf.Variable(np.ones(SHAPES[2], np.float32), constraint=tf.keras.constraints.NonNeg())
  with_constraint = variables[:2] + [constrained]
  optimizer_2 = tf.keras.optimizers.Adam(1e-3)
  optimizer_2.build(with_constraint)
  assert not fused_adam.apply(optimizer_2, gradients, with_constraint)
  doubles = [tf.Variable(v.numpy().astype(np.float64)) for v in variables]
  optimizer_3 = tf.keras.optimizers.Adam(1e-3)
  optimizer_3.build(doubles)
  assert not fused_adam.apply(optimizer_3, gradients, doubles)  # float32 gradients: Keras' error
  assert int(optimizer.iterations) == 0
  for variable, initial in zip(variables, _variables()):
    np.testing.assert_array_equal(variable.numpy(), initial.numpy())
