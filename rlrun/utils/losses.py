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


def scale_for_replicas(loss: tf.Tensor) -> tf.Tensor:
  """`loss` / the number of replicas of the current tf.distribute strategy.

  Optimizers sum gradients across replicas, each of which averages its share of the
  global batch; dividing makes the sum the gradient of the global-batch mean. Under
  the default strategy there is one replica and `loss` is returned as it is.
  """
  replicas = tf.distribute.get_strategy().num_replicas_in_sync
  return loss if replicas == 1 else loss / replicas
