"""The tf.distribute strategy the learner runs under, chosen by name in gin."""

from typing import Dict, Optional, Sequence, Tuple

import gin
import tensorflow as tf

STRATEGY_NAMES = ("default", "mirrored")

# Captured at import, outside any strategy's scope: TensorFlow's no-op strategy.
_DEFAULT_STRATEGY = tf.distribute.get_strategy()

# One MirroredStrategy per device set and process: the collective ops of two
# strategies over the same devices share instance keys and abort each other
# ("Shape mismatch in the collective instance 100", tensorflow/tensorflow#62790).
_MIRRORED: Dict[Optional[Tuple[str, ...]], tf.distribute.MirroredStrategy] = {}


def _no_gpu_message() -> str:
  message = ("no GPU is visible to TensorFlow, so train.Experiment.strategy='mirrored' (--gpu) "
             "cannot run: ")
  if tf.test.is_built_with_cuda():
    return message + ("this is TensorFlow's CUDA build, so check the NVIDIA driver "
                      "(nvidia-smi) and CUDA_VISIBLE_DEVICES")
  return message + ("rlrun's default install is the CPU wheel (tensorflow-cpu); on a machine "
                    "with an NVIDIA GPU and driver, replace it with the CUDA build: pip "
                    f"uninstall tensorflow-cpu && pip install 'tensorflow[and-cuda]=="
                    f"{tf.__version__}'")


@gin.configurable(module="train")
def make_strategy(name: str = "default",
                  devices: Optional[Sequence[str]] = None) -> tf.distribute.Strategy:
  """The strategy called `name`.

  A process gets one MirroredStrategy per device set: asking again returns it.

  Args:
    name: 'default': TensorFlow's default strategy (one device, no distribution);
      'mirrored': tf.distribute.MirroredStrategy, one replica per device.
    devices: the mirrored strategy's devices, e.g. ('/cpu:0', '/cpu:1'); None: every
      visible GPU.

  Returns:
    A tf.distribute.Strategy.

  Raises:
    ValueError: for an unknown name, devices given to 'default', or 'mirrored' without
      devices on a machine where TensorFlow sees no GPU.
  """
  if name == "default":
    if devices is not None:
      raise ValueError(f"train.make_strategy.devices={tuple(devices)} only applies to "
                       "train.Experiment.strategy='mirrored'; remove it or use 'mirrored'")
    return tf.distribute.get_strategy()
  if name == "mirrored":
    if devices is None and not tf.config.list_physical_devices("GPU"):
      raise ValueError(_no_gpu_message())
    if devices is not None and not devices:
      raise ValueError("train.make_strategy.devices is empty; name at least one device, e.g. "
                       "('/gpu:0', '/gpu:1'), or leave it unset for every visible GPU")
    key = (None if devices is None else
           tuple(tf.DeviceSpec.from_string(d).to_string() for d in devices))
    if key not in _MIRRORED:
      _MIRRORED[key] = tf.distribute.MirroredStrategy(devices=None if key is None else list(key))
    return _MIRRORED[key]
  raise ValueError(f"unknown strategy {name!r}: train.Experiment.strategy must be one of "
                   f"{', '.join(repr(n) for n in STRATEGY_NAMES)}")


def is_default(strategy: Optional[tf.distribute.Strategy]) -> bool:
  """Whether `strategy` is None or TensorFlow's default (no-op) strategy."""
  return strategy is None or strategy is _DEFAULT_STRATEGY
