"""TensorFlow specs and their conversion to and from numpy ArraySpecs."""

from typing import Any, Sequence

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.tensor_spec import BoundedTensorSpec  # no public alias in TF 2.15

from rlrun.specs import array_spec

TensorSpec = tf.TensorSpec

__all__ = ["TensorSpec", "BoundedTensorSpec", "from_spec", "to_array_spec", "to_nest_array_spec",
           "add_outer_dim", "add_outer_dims_nest", "sample_spec_nest", "zero_spec_nest",
           "is_bounded", "is_discrete", "is_continuous"]


def from_spec(spec: Any) -> Any:
  """Converts a nest of ArraySpecs (or TensorSpecs) into TensorSpecs, keeping bounds."""
  def convert(s):
    if isinstance(s, BoundedTensorSpec):
      return s
    if isinstance(s, tf.TensorSpec):
      return tf.TensorSpec.from_spec(s)
    if isinstance(s, array_spec.BoundedArraySpec):
      return BoundedTensorSpec(s.shape, tf.as_dtype(s.dtype), s.minimum, s.maximum, s.name)
    if isinstance(s, array_spec.ArraySpec):
      return tf.TensorSpec(s.shape, tf.as_dtype(s.dtype), s.name)
    raise TypeError(f"from_spec needs ArraySpec or TensorSpec leaves, got {type(s).__name__}: {s!r}")
  return tf.nest.map_structure(convert, spec)


def to_array_spec(s: Any) -> array_spec.ArraySpec:
  """Converts one TensorSpec (or ArraySpec) into the matching ArraySpec."""
  if isinstance(s, array_spec.ArraySpec):
    return s
  if isinstance(s, BoundedTensorSpec):
    return array_spec.BoundedArraySpec(s.shape.as_list(), s.dtype.as_numpy_dtype, s.minimum,
                                       s.maximum, s.name)
  if isinstance(s, tf.TensorSpec):
    return array_spec.ArraySpec(s.shape.as_list(), s.dtype.as_numpy_dtype, s.name)
  raise TypeError(f"to_array_spec needs a TensorSpec, got {type(s).__name__}: {s!r}")


def to_nest_array_spec(spec: Any) -> Any:
  return tf.nest.map_structure(to_array_spec, spec)


def add_outer_dims_nest(specs: Any, outer_dims: Sequence[Any]) -> Any:
  """Prepends `outer_dims` (ints or None) to the shape of every TensorSpec in the nest."""
  def add(s):
    shape = tf.TensorShape(list(outer_dims)).concatenate(s.shape)
    if isinstance(s, BoundedTensorSpec):
      return BoundedTensorSpec(shape, s.dtype, s.minimum, s.maximum, s.name)
    return tf.TensorSpec(shape, s.dtype, s.name)
  return tf.nest.map_structure(add, from_spec(specs))


def add_outer_dim(specs: Any, dim: Any = None) -> Any:
  """Prepends one dimension (`None` = unknown) to every spec in the nest."""
  return add_outer_dims_nest(specs, [dim])


def is_bounded(spec: Any) -> bool:
  return isinstance(spec, (BoundedTensorSpec, array_spec.BoundedArraySpec))


def is_discrete(spec: Any) -> bool:
  return tf.as_dtype(spec.dtype).is_integer


def is_continuous(spec: Any) -> bool:
  return tf.as_dtype(spec.dtype).is_floating


def sample_spec_nest(specs: Any, outer_dims: Sequence[Any] = (), seed: Any = None) -> Any:
  """Samples uniformly within each (bounded) TensorSpec; unbounded floats are N(0, 1).

  `outer_dims` may hold tensors (e.g. a dynamic batch size). `seed` is a stateless
  seed pair; without it the global generator is used.
  """
  specs = from_spec(specs)
  flat = tf.nest.flatten(specs)
  seeds = (tf.random.experimental.stateless_split(seed, len(flat)) if seed is not None
           else [None] * len(flat))
  def sample(s, sd):
    shape = tf.concat([tf.cast(tf.stack(list(outer_dims)), tf.int32) if len(outer_dims)
                       else tf.constant([], tf.int32), tf.constant(s.shape.as_list(), tf.int32)], 0)
    uniform = (lambda **kw: tf.random.stateless_uniform(shape, seed=sd, **kw)) if sd is not None \
        else (lambda **kw: tf.random.uniform(shape, **kw))
    if s.dtype.is_integer:
      lo = np.broadcast_to(s.minimum if is_bounded(s) else -10, s.shape).astype(np.int64)
      hi = np.broadcast_to(s.maximum if is_bounded(s) else 10, s.shape).astype(np.int64)
      if lo.size == 0 or (lo.min() == lo.max() and hi.min() == hi.max()):
        low, high = (int(lo.min()), int(hi.max())) if lo.size else (0, 0)
        return tf.cast(uniform(minval=low, maxval=high + 1, dtype=tf.int64), s.dtype)
      u = uniform(dtype=tf.float32)
      return tf.cast(tf.floor(lo.astype(np.float32) + u * (hi - lo + 1).astype(np.float32)),
                     s.dtype)
    if s.dtype == tf.bool:
      return uniform(minval=0, maxval=2, dtype=tf.int32) > 0
    if not is_bounded(s) or np.any(np.abs(s.minimum) > 1e30) or np.any(np.abs(s.maximum) > 1e30):
      normal = (tf.random.stateless_normal(shape, seed=sd, dtype=s.dtype) if sd is not None
                else tf.random.normal(shape, dtype=s.dtype))
      return tf.clip_by_value(normal, s.minimum, s.maximum) if is_bounded(s) else normal
    lo = np.broadcast_to(s.minimum, s.shape).astype(s.dtype.as_numpy_dtype)
    hi = np.broadcast_to(s.maximum, s.shape).astype(s.dtype.as_numpy_dtype)
    return lo + uniform(dtype=s.dtype) * (hi - lo)
  return tf.nest.pack_sequence_as(specs, [sample(s, sd) for s, sd in zip(flat, seeds)])


def zero_spec_nest(specs: Any, outer_dims: Sequence[Any] = ()) -> Any:
  specs = from_spec(specs)
  return tf.nest.map_structure(
      lambda s: tf.zeros(tf.concat([tf.cast(list(outer_dims), tf.int32),
                                    tf.constant(s.shape.as_list(), tf.int32)], 0)
                         if len(outer_dims) else s.shape, s.dtype), specs)
