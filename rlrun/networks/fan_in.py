"""Initialisation scaled by a layer's fan-in, biases included: PyTorch's default for Linear.

PyTorch draws a Linear layer's kernel and bias alike from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
Keras' initializers cannot give a bias that range: a bias's shape, [units], does not hold
the layer's fan-in. `FanInUniform` takes it from a kernel's shape, and `FanInDense` hands
it to a bias when the layer is built. Hyperparameters tuned on PyTorch (SB3, CleanRL) can
then keep the initialisation they were tuned with:

    networks.QNetwork.kernel_initializer = @networks.FanInUniform()
    networks.QNetwork.bias_initializer = @networks.FanInUniform()
    networks.QNetwork.last_kernel_initializer = @networks.FanInUniform()
    networks.QNetwork.last_bias_initializer = @networks.FanInUniform()
"""

import math
from typing import Optional

import gin
import tensorflow as tf


@gin.configurable(module="networks")
class FanInUniform(tf.keras.initializers.Initializer):
  """Uniform in [-scale / sqrt(fan_in), scale / sqrt(fan_in)].

  Args:
    scale: the bound times sqrt(fan_in); 1.0 is PyTorch's default.
    fan_in: the layer's input width. None: read from a kernel's shape (every dim but the
      last); a FanInDense layer sets it for its bias.
    seed: fixes the draw. Every layer given the initializer then draws from that same
      seed, as with Keras' seeded initializers; leave it None and `--seed` fixes the draws.
  """

  def __init__(self, scale: float = 1.0, fan_in: Optional[int] = None,
               seed: Optional[int] = None):
    if not scale > 0:
      raise ValueError(f"FanInUniform: scale must be > 0, got {scale}")
    if fan_in is not None and not fan_in > 0:
      raise ValueError(f"FanInUniform: fan_in must be > 0 or None, got {fan_in}")
    self.scale, self.fan_in, self.seed = scale, fan_in, seed

  def with_fan_in(self, fan_in: int) -> "FanInUniform":
    return FanInUniform(self.scale, fan_in, self.seed)

  def __call__(self, shape, dtype=None, **kwargs):
    fan_in = self.fan_in
    if fan_in is None:
      if len(shape) < 2:
        raise ValueError(
            f"FanInUniform: a bias of shape {list(shape)} has no fan-in; use it for the "
            "biases of rlrun's QNetwork and EncodingNetwork layers, or give fan_in")
      fan_in = math.prod(shape[:-1])
    limit = self.scale / math.sqrt(fan_in)
    return tf.keras.initializers.RandomUniform(-limit, limit, seed=self.seed)(shape, dtype)

  def get_config(self):
    return {"scale": self.scale, "fan_in": self.fan_in, "seed": self.seed}


class FanInDense(tf.keras.layers.Dense):
  """A Dense layer that gives a FanInUniform bias its input width when built."""

  def build(self, input_shape):
    width = tf.TensorShape(input_shape)[-1]
    if isinstance(self.bias_initializer, FanInUniform) and width is not None:
      self.bias_initializer = self.bias_initializer.with_fan_in(int(width))
    super().build(input_shape)
