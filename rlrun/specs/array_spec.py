"""numpy specs: the shape, dtype and bounds of arrays that environments exchange."""

from typing import Any, Optional, Sequence

import numpy as np
import tree


class ArraySpec:
  """Describes a numpy array: its shape and dtype, and an optional name."""

  __slots__ = ("_shape", "_dtype", "_name")

  def __init__(self, shape: Sequence[int], dtype: Any, name: Optional[str] = None):
    self._shape = tuple(int(d) for d in shape)
    self._dtype = np.dtype(dtype)
    self._name = name

  @property
  def shape(self) -> tuple:
    return self._shape

  @property
  def dtype(self) -> np.dtype:
    return self._dtype

  @property
  def name(self) -> Optional[str]:
    return self._name

  def __repr__(self) -> str:
    return f"ArraySpec(shape={self.shape}, dtype={self.dtype!r}, name={self.name!r})"

  def __eq__(self, other) -> bool:
    return (type(other) is type(self) and self.shape == other.shape
            and self.dtype == other.dtype)

  def __ne__(self, other) -> bool:
    return not self == other

  def __hash__(self) -> int:
    return hash((self.shape, self.dtype))

  def check_array(self, array: Any) -> bool:
    """True when `array` has exactly this spec's shape and dtype."""
    if isinstance(array, np.ndarray):
      return self.shape == array.shape and self.dtype == array.dtype
    if isinstance(array, np.generic):
      return self.shape == () and self.dtype == array.dtype
    return False

  def replace(self, shape=None, dtype=None, name=None) -> "ArraySpec":
    return ArraySpec(self.shape if shape is None else shape,
                     self.dtype if dtype is None else dtype,
                     self.name if name is None else name)

  @classmethod
  def from_array(cls, array: np.ndarray, name: Optional[str] = None) -> "ArraySpec":
    return cls(array.shape, array.dtype, name)


class BoundedArraySpec(ArraySpec):
  """An ArraySpec whose values lie in [minimum, maximum] (inclusive).

  Bounds default to the dtype's own range; they may be scalars or arrays that
  broadcast to `shape`.
  """

  __slots__ = ("_minimum", "_maximum")

  def __init__(self, shape, dtype, minimum=None, maximum=None, name=None):
    super().__init__(shape, dtype, name)
    info = (np.iinfo(self.dtype) if np.issubdtype(self.dtype, np.integer)
            else np.finfo(self.dtype) if np.issubdtype(self.dtype, np.floating)
            else None)
    if minimum is None:
      minimum = info.min if info is not None else False
    if maximum is None:
      maximum = info.max if info is not None else True
    self._minimum = np.array(minimum, dtype=self.dtype)
    self._maximum = np.array(maximum, dtype=self.dtype)
    for label, bound in (("minimum", self._minimum), ("maximum", self._maximum)):
      try:
        np.broadcast_to(bound, self.shape)
      except ValueError as e:
        raise ValueError(f"{label} {bound!r} does not broadcast to shape {self.shape} "
                         f"of spec {name!r}") from e
    if np.any(self._minimum > self._maximum):
      raise ValueError(f"spec {name!r}: minimum {self._minimum} exceeds maximum "
                       f"{self._maximum}")

  @property
  def minimum(self) -> np.ndarray:
    return self._minimum

  @property
  def maximum(self) -> np.ndarray:
    return self._maximum

  @property
  def num_values(self) -> int:
    """For a scalar integer spec: how many discrete values it allows."""
    if not np.issubdtype(self.dtype, np.integer):
      raise ValueError(f"num_values needs an integer spec, got dtype {self.dtype}")
    return int(np.max(self.maximum) - np.min(self.minimum) + 1)

  def __repr__(self) -> str:
    fmt = lambda a: np.array2string(a, separator=" ") if a.ndim else str(a)
    return (f"BoundedArraySpec(shape={self.shape}, dtype={self.dtype!r}, name={self.name!r}, "
            f"minimum={fmt(self.minimum)}, maximum={fmt(self.maximum)})")

  def __eq__(self, other) -> bool:
    return (super().__eq__(other) and np.array_equal(self.minimum, other.minimum)
            and np.array_equal(self.maximum, other.maximum))

  def __hash__(self) -> int:
    return super().__hash__()

  def check_array(self, array: Any) -> bool:
    return (super().check_array(array) and bool(np.all(array >= self.minimum))
            and bool(np.all(array <= self.maximum)))

  def replace(self, shape=None, dtype=None, name=None, minimum=None,
              maximum=None) -> "BoundedArraySpec":
    return BoundedArraySpec(self.shape if shape is None else shape,
                            self.dtype if dtype is None else dtype,
                            self.minimum if minimum is None else minimum,
                            self.maximum if maximum is None else maximum,
                            self.name if name is None else name)

  @classmethod
  def from_spec(cls, spec: ArraySpec) -> "BoundedArraySpec":
    if isinstance(spec, BoundedArraySpec):
      return spec
    return cls(spec.shape, spec.dtype, name=spec.name)


def is_bounded(spec: Any) -> bool:
  return isinstance(spec, BoundedArraySpec)


def is_discrete(spec: Any) -> bool:
  return np.issubdtype(np.dtype(spec.dtype), np.integer)


def is_continuous(spec: Any) -> bool:
  return np.issubdtype(np.dtype(spec.dtype), np.floating)


def add_outer_dims_nest(specs: Any, outer_dims: Sequence[int]) -> Any:
  """Returns `specs` with `outer_dims` prepended to every shape."""
  outer = tuple(outer_dims)
  def add(spec):
    if isinstance(spec, BoundedArraySpec):
      return spec.replace(shape=outer + spec.shape)
    return ArraySpec(outer + spec.shape, spec.dtype, spec.name)
  return tree.map_structure(add, specs)


def sample_spec_nest(specs: Any, rng: np.random.Generator, outer_dims: Sequence[int] = ()) -> Any:
  """Draws a uniformly random value for every spec in the nest.

  Unbounded float dimensions (or bounds at the dtype's limits) are drawn from a
  standard normal, since a uniform draw over ±3.4e38 is useless in practice.
  """
  outer = tuple(outer_dims)
  def sample(spec):
    shape = outer + spec.shape
    dtype = np.dtype(spec.dtype)
    if dtype == np.bool_:
      return rng.integers(0, 2, size=shape).astype(np.bool_)
    if np.issubdtype(dtype, np.integer):
      lo, hi = (spec.minimum, spec.maximum) if is_bounded(spec) else (-10, 10)
      return rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
    if not is_bounded(spec):
      return rng.standard_normal(size=shape).astype(dtype)
    lo = np.broadcast_to(spec.minimum, spec.shape).astype(np.float64)
    hi = np.broadcast_to(spec.maximum, spec.shape).astype(np.float64)
    huge = np.finfo(dtype).max / 10
    if np.any(np.abs(lo) > huge) or np.any(np.abs(hi) > huge):
      return np.clip(rng.standard_normal(size=shape), lo, hi).astype(dtype)
    return rng.uniform(lo, hi, size=shape).astype(dtype)
  return tree.map_structure(sample, specs)


def zero_spec_nest(specs: Any, outer_dims: Sequence[int] = ()) -> Any:
  """Zeros shaped (outer_dims + spec.shape) for every spec in the nest."""
  return tree.map_structure(
      lambda s: np.zeros(tuple(outer_dims) + tuple(s.shape), np.dtype(s.dtype)), specs)


def check_arrays_nest(arrays: Any, specs: Any) -> bool:
  """True when `arrays` has the structure of `specs` and each array matches its spec."""
  try:
    tree.assert_same_structure(arrays, specs)
  except (ValueError, TypeError):
    return False
  return all(s.check_array(a) for s, a in zip(tree.flatten(specs), tree.flatten(arrays)))
