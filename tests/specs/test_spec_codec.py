"""spec_codec: nests of specs -> JSON -> the same nests."""

import collections
import json

import numpy as np
import tensorflow as tf

from rlrun.specs import array_spec, spec_codec, tensor_spec
from rlrun.trajectories import PolicyStep, TimeStep, time_step_spec


def _nested_spec():
  observation = {
      "position": array_spec.BoundedArraySpec((2,), np.float32, [-1.0, -2.0], [1.0, 2.0], "pos"),
      "pair": (array_spec.ArraySpec((3, 2), np.uint8, "img"),
               array_spec.ArraySpec((), np.bool_, "flag")),
  }
  return time_step_spec(observation)


def test_encode_json_decode_round_trip():
  spec = _nested_spec()
  text = json.dumps(spec_codec.encode(spec))
  decoded = spec_codec.decode(json.loads(text))
  assert isinstance(decoded, TimeStep)
  assert decoded == spec  # namedtuple equality compares leaves (bounds included)
  pos = decoded.observation["position"]
  assert isinstance(pos, array_spec.BoundedArraySpec) and pos.name == "pos"
  np.testing.assert_array_equal(pos.maximum, [1.0, 2.0])
  assert isinstance(decoded.observation["pair"], tuple)
  assert decoded.observation["pair"][0].dtype == np.uint8
  assert decoded.observation["pair"][0].shape == (3, 2)
  assert type(decoded.step_type) is array_spec.ArraySpec
  assert decoded.discount.minimum == 0.0 and decoded.discount.maximum == 1.0


def test_tensor_specs_decode_to_array_specs():
  spec = tensor_spec.from_spec(_nested_spec())
  decoded = spec_codec.decode(json.loads(json.dumps(spec_codec.encode(spec))))
  assert decoded == _nested_spec()
  action = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1, name="action")
  decoded_action = spec_codec.decode(spec_codec.encode(PolicyStep(action, (), ())))
  assert isinstance(decoded_action, PolicyStep) and decoded_action.state == ()
  assert decoded_action.action == array_spec.BoundedArraySpec((), np.int64, 0, 1)
  assert decoded_action.action.name == "action"


def test_unknown_namedtuple_becomes_a_namedtuple_with_the_same_fields():
  Point = collections.namedtuple("Point", ["x", "y"])
  spec = Point(array_spec.ArraySpec((), np.float32, "x"), array_spec.ArraySpec((), np.int32, "y"))
  decoded = spec_codec.decode(json.loads(json.dumps(spec_codec.encode(spec))))
  assert type(decoded).__name__ == "Point" and decoded._fields == ("x", "y")
  assert decoded.y == spec.y and decoded.y.name == "y"
