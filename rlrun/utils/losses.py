"""Element-wise loss functions for TD errors (gin-configurable by name)."""

import gin
import tensorflow as tf


@gin.configurable(module="losses")
def element_wise_squared_loss(targets: tf.Tensor, predictions: tf.Tensor) -> tf.Tensor:
  """(targets - predictions)^2, per element."""
  return tf.math.squared_difference(targets, predictions)


@gin.configurable(module="losses")
def element_wise_huber_loss(targets: tf.Tensor, predictions: tf.Tensor,
                            delta: float = 1.0) -> tf.Tensor:
  """Huber loss per element: quadratic within `delta`, linear beyond."""
  error = tf.abs(targets - predictions)
  quadratic = tf.minimum(error, delta)
  return 0.5 * tf.square(quadratic) + delta * (error - quadratic)
