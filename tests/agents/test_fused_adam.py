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
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
  for ours, theirs in zip(fused_vars, keras_vars):
    assert not np.array_equal(ours.numpy(), _variables()[SHAPES.index(ours.shape)].numpy())
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: tf.keras.optimizers.legacy.Adam(1e-3),
    lambda: tf.keras.optimizers.Adam(1e-3, amsgrad=True),
    lambda: tf.keras.optimizers.Adam(1e-3, clipnorm=1.0),
    lambda: tf.keras.optimizers.Adam(1e-3, weight_decay=0.1),
    lambda: tf.keras.optimizers.SGD(1e-3),
], ids=["legacy", "amsgrad", "clipnorm", "weight_decay", "sgd"])
def test_other_optimizers_are_left_to_keras(make):
  variables, optimizer = _variables(), make()
  gradients = _gradients(np.random.default_rng(2))
  assert not fused_adam.apply(optimizer, gradients, variables)
  before = [v.numpy() for v in variables]
  apply_gradients(optimizer, gradients, variables)  # the Keras way: it still steps
  assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, variables))


def test_what_a_fused_step_cannot_take_is_refused_without_touching_anything():
  variables, optimizer = _variables(), tf.keras.optimizers.Adam(1e-3)
  gradients = _gradients(np.random.default_rng(3))
  assert not fused_adam.apply(optimizer, gradients, variables)  # not built for them yet
  optimizer.build(variables)
  assert not fused_adam.apply(optimizer, [None] + gradients[1:], variables)
  sparse = tf.IndexedSlices(gradients[1], tf.range(16))
  assert not fused_adam.apply(optimizer, [gradients[0], sparse, gradients[2]], variables)
  assert not fused_adam.apply(optimizer, gradients, variables + [tf.Variable(1.0)])
  assert int(optimizer.iterations) == 0
  np.testing.assert_array_equal(variables[0].numpy(), _variables()[0].numpy())
