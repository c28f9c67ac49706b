"""Scalars from TensorBoard event files, read without TensorFlow.

An event file is a sequence of TFRecords (length, its CRC, the serialized Event, its CRC);
tf.summary.scalar stores each value as a scalar tensor in the Event's summary.
"""

import struct
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import numpy as np

_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64}  # DataType enum values


def _records(path: Path) -> Iterator[bytes]:
  data = path.read_bytes()
  offset = 0
  while offset + 12 <= len(data):
    (length,) = struct.unpack_from("<Q", data, offset)
    start = offset + 12
    if start + length + 4 > len(data):
      return  # a record still being written
    yield data[start:start + length]
    offset = start + length + 4


def _value(value) -> float:
  if value.HasField("simple_value"):
    return float(value.simple_value)
  tensor = value.tensor
  if len(tensor.tensor_shape.dim):
    raise ValueError("not a scalar tensor")
  dtype = _DTYPES.get(tensor.dtype)
  if dtype is None:
    raise ValueError(f"tensor of dtype {tensor.dtype}")
  if tensor.tensor_content:
    return float(np.frombuffer(tensor.tensor_content, dtype)[0])
  for field in ("float_val", "double_val", "int_val", "int64_val"):
    values = getattr(tensor, field)
    if len(values):
      return float(values[0])
  raise ValueError("empty tensor")


def read_scalars(directory: Path) -> Dict[str, List[Tuple[int, float, float]]]:
  """Every scalar under `directory`'s event files (not its subdirectories).

  Returns:
    tag -> [(step, wall_time, value)] sorted by step; a step written twice (e.g. again
    after a resume) keeps its last value.
  """
  from tensorboard.compat.proto import event_pb2  # protobuf only, no TensorFlow
  found: Dict[str, Dict[int, Tuple[float, float]]] = {}
  for path in sorted(Path(directory).glob("events.out.tfevents.*")):
    for record in _records(path):
      event = event_pb2.Event.FromString(record)
      for value in event.summary.value:
        try:
          found.setdefault(value.tag, {})[int(event.step)] = (event.wall_time, _value(value))
        except ValueError:
          continue  # not a scalar (histogram, image, text)
  return {tag: [(step, *points[step]) for step in sorted(points)]
          for tag, points in found.items()}
