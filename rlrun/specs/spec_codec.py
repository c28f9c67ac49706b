"""Specs to and from JSON, so a saved policy describes its inputs in plain text."""

import collections
from typing import Any

import numpy as np

from rlrun.specs.array_spec import ArraySpec, BoundedArraySpec


def _known_namedtuples():
  from rlrun.trajectories import PolicyStep, TimeStep, Trajectory
  return {cls.__name__: cls for cls in (TimeStep, PolicyStep, Trajectory)}


def encode(nest: Any) -> Any:
  """A JSON-serialisable description of a nest of Array/Tensor specs."""
  if hasattr(nest, "_fields"):
    return {"namedtuple": type(nest).__name__,
            "fields": {f: encode(getattr(nest, f)) for f in nest._fields}}
  if isinstance(nest, dict):
    return {"dict": {k: encode(v) for k, v in nest.items()}}
  if isinstance(nest, (tuple, list)):
    return {"tuple": [encode(v) for v in nest]}
  dtype = np.dtype(getattr(nest.dtype, "as_numpy_dtype", nest.dtype))
  shape = nest.shape.as_list() if hasattr(nest.shape, "as_list") else list(nest.shape)
  out = {"shape": shape, "dtype": dtype.name, "name": nest.name}
  if hasattr(nest, "minimum"):
    out["minimum"] = np.asarray(nest.minimum).tolist()
    out["maximum"] = np.asarray(nest.maximum).tolist()
  return out


def decode(data: Any) -> Any:
  """The nest of ArraySpecs described by `encode`'s output."""
  if "namedtuple" in data:
    cls = _known_namedtuples().get(data["namedtuple"]) or collections.namedtuple(
        data["namedtuple"], list(data["fields"]))
    return cls(**{k: decode(v) for k, v in data["fields"].items()})
  if "dict" in data:
    return {k: decode(v) for k, v in data["dict"].items()}
  if "tuple" in data:
    return tuple(decode(v) for v in data["tuple"])
  if "minimum" in data:
    return BoundedArraySpec(data["shape"], data["dtype"], data["minimum"], data["maximum"],
                            data["name"])
  return ArraySpec(data["shape"], data["dtype"], data["name"])
