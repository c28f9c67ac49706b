"""Registers the TensorFlow pieces gin files may reference (optimizers, initializers...).

Importing this module makes `@tf.keras.optimizers.Adam()`,
`@tf.keras.initializers.VarianceScaling()`,
`@tf.keras.optimizers.schedules.PolynomialDecay()`, `@tf.keras.activations.relu` and friends
available in gin files.
"""

import gin
import tensorflow as tf

_OPTIMIZERS = ("Adam", "AdamW", "RMSprop", "SGD", "Adagrad")
_INITIALIZERS = ("VarianceScaling", "RandomUniform", "RandomNormal", "TruncatedNormal",
                 "Constant", "Zeros", "Ones", "GlorotUniform", "GlorotNormal", "HeNormal",
                 "HeUniform", "Orthogonal")
_LEARNING_RATE_SCHEDULES = ("PolynomialDecay", "CosineDecay", "ExponentialDecay",
                            "PiecewiseConstantDecay", "InverseTimeDecay")
_ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "softplus", "swish", "gelu", "linear")


def _register() -> None:
  for name in _OPTIMIZERS:
    gin.external_configurable(getattr(tf.keras.optimizers, name), module="tf.keras.optimizers")
  for name in _INITIALIZERS:
    gin.external_configurable(getattr(tf.keras.initializers, name), module="tf.keras.initializers")
  for name in _LEARNING_RATE_SCHEDULES:
    gin.external_configurable(getattr(tf.keras.optimizers.schedules, name),
                              module="tf.keras.optimizers.schedules")
  for name in _ACTIVATIONS:
    gin.external_configurable(getattr(tf.keras.activations, name), module="tf.keras.activations")
  for name in ("squared_difference", "abs"):
    gin.external_configurable(getattr(tf.math, name), module="tf.math")


_register()
