"""Packs a nest of fixed-shape arrays into one uint8 vector, and unpacks it in-graph.

Reverb's sampler pays per column and per chunk: a 7-field Trajectory samples ~3x
slower than the same bytes in one column (see BENCHMARKS.md). A packed table stores
each step as one uint8 column and the dataset unpacks whole batches with
`tf.bitcast`, which is exact for every numeric dtype.
"""

from typing import Any, List

import numpy as np
import tensorflow as tf
import tree


class PackedCodec:
  """Lossless nest <-> uint8[num_bytes] conversion for one data spec.

  Args:
    data_spec: a nest of Array/Tensor specs with fully defined shapes.
  """

  def __init__(self, data_spec: Any):
    self._data_spec = data_spec
    self._specs = tree.flatten(data_spec)
    self._dtypes: List[np.dtype] = []
    self._shapes: List[tuple] = []
    self._offsets: List[int] = []
    offset = 0
    for spec in self._specs:
      dtype = np.dtype(getattr(spec.dtype, "as_numpy_dtype", spec.dtype))
      shape = tuple(spec.shape.as_list() if hasattr(spec.shape, "as_list") else spec.shape)
      if any(d is None for d in shape):
        raise ValueError(f"packing needs fully defined shapes, got {spec}")
      self._dtypes.append(dtype)
      self._shapes.append(shape)
      self._offsets.append(offset)
      offset += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    self._num_bytes = offset

  @property
  def num_bytes(self) -> int:
    return self._num_bytes

  def encode(self, value: Any) -> np.ndarray:
    """One unbatched nest -> uint8[num_bytes]."""
    leaves = tree.flatten(value)
    if len(leaves) != len(self._specs):
      raise ValueError(f"expected {len(self._specs)} arrays matching {self._data_spec}, "
                       f"got {len(leaves)}")
    parts = [np.ascontiguousarray(leaf, dtype=dtype).reshape(-1).view(np.uint8)
             for leaf, dtype in zip(leaves, self._dtypes)]
    return np.concatenate(parts) if parts else np.zeros([0], np.uint8)

  def decode(self, packed: tf.Tensor) -> Any:
    """uint8[..., num_bytes] -> the nest, each leaf shaped [..., *spec.shape]."""
    outer = tf.shape(packed)[:-1]
    leaves = []
    for dtype, shape, offset in zip(self._dtypes, self._shapes, self._offsets):
      count = int(np.prod(shape, dtype=np.int64))
      chunk = packed[..., offset:offset + count * dtype.itemsize]
      tf_dtype = tf.as_dtype(dtype)
      if dtype == np.bool_:
        leaf = tf.cast(chunk, tf.bool)
      elif dtype.itemsize == 1:
        leaf = tf.bitcast(chunk, tf_dtype)
      else:
        leaf = tf.bitcast(tf.reshape(chunk, tf.concat([outer, [count, dtype.itemsize]], 0)),
                          tf_dtype)
      leaves.append(tf.reshape(leaf, tf.concat([outer, list(shape)], 0)))
    return tree.unflatten_as(self._data_spec, leaves)

  def decode_numpy(self, packed: np.ndarray) -> Any:
    """The numpy counterpart of `decode`."""
    outer = packed.shape[:-1]
    leaves = []
    for dtype, shape, offset in zip(self._dtypes, self._shapes, self._offsets):
      size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
      chunk = np.ascontiguousarray(packed[..., offset:offset + size])
      leaves.append(chunk.view(dtype).reshape(outer + shape))
    return tree.unflatten_as(self._data_spec, leaves)
