"""Saving an environment's exact state (deterministic runs resume mid-episode, bit for bit)."""

import copyreg
import pickle

import numpy as np


def _generator(bit_generator_name: str, state: dict):
  generator = np.random.Generator(getattr(np.random, bit_generator_name)())
  generator.bit_generator.state = state
  return generator


def _reduce_generator(generator):
  bit_generator = generator.bit_generator
  return _generator, (type(bit_generator).__name__, bit_generator.state)


def _register_gym_generator() -> None:
  # gym 0.23's seeding.RandomNumberGenerator (a numpy Generator subclass) does not
  # unpickle under numpy 1.26; rebuilding it as a plain Generator keeps its stream.
  try:
    from gym.utils import seeding
  except ImportError:
    return
  rng_class = getattr(seeding, "RandomNumberGenerator", None)
  if rng_class is not None:
    copyreg.pickle(rng_class, _reduce_generator)


def snapshot(obj) -> bytes:
  """The object's state as bytes (cloudpickle: lambdas and local classes included).

  Raises:
    ValueError: naming the object's type when it cannot be saved.
  """
  import cloudpickle
  _register_gym_generator()
  try:
    return cloudpickle.dumps(obj)
  except Exception as e:  # pylint: disable=broad-except  (TypeError, PicklingError, ...)
    raise ValueError(f"the environment ({type(obj).__name__}) cannot be saved ({e}); "
                     "deterministic mode needs one whose state pickles (classic control, "
                     "most gym envs; not pybullet)") from e


def load(blob: bytes):
  _register_gym_generator()
  return pickle.loads(blob)
