"""PackedCodec: nests <-> one uint8 vector, exact in numpy and in TensorFlow."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.replay_buffers.packing import PackedCodec
from rlrun.specs import array_spec

SPEC = {
    "obs": array_spec.ArraySpec((3,), np.float32),
    "step": array_spec.ArraySpec((), np.int64),
    "pair": (array_spec.ArraySpec((), np.int32), array_spec.ArraySpec((2, 2), np.uint8)),
    "done": array_spec.ArraySpec((), np.bool_),
}


def _value(i):
  return {
      "obs": np.array([1.5, -2.25, 1e30 * i], np.float32),
      "step": np.int64(2**40 + i),
      "pair": (np.int32(-7 - i), np.array([[0, 255], [i, 128]], np.uint8)),
      "done": np.bool_(i % 2),
  }


def _assert_equal_nests(actual, expected):
  assert sorted(actual) == sorted(expected)
  for key in expected:
    a, e = actual[key], expected[key]
    if isinstance(e, tuple):
      for x, y in zip(a, e):
        np.testing.assert_array_equal(np.asarray(x), y)
        assert np.asarray(x).dtype == np.asarray(y).dtype
    else:
      np.testing.assert_array_equal(np.asarray(a), e)
      assert np.asarray(a).dtype == np.asarray(e).dtype


def test_num_bytes_and_encoding():
  codec = PackedCodec(SPEC)
  assert codec.num_bytes == 3 * 4 + 8 + 4 + 4 + 1  # 29
  packed = codec.encode(_value(1))
  assert packed.dtype == np.uint8 and packed.shape == (29,)


def test_numpy_round_trip_single_and_batched():
  codec = PackedCodec(SPEC)
  _assert_equal_nests(codec.decode_numpy(codec.encode(_value(3))), _value(3))
  batch = np.stack([np.stack([codec.encode(_value(i)), codec.encode(_value(i + 1))])
                    for i in range(3)])  # [3, 2, num_bytes]
  decoded = codec.decode_numpy(batch)
  assert decoded["obs"].shape == (3, 2, 3) and decoded["pair"][1].shape == (3, 2, 2, 2)
  _assert_equal_nests({k: (v[0][2, 1], v[1][2, 1]) if k == "pair" else v[2, 1]
                       for k, v in decoded.items()}, _value(3))


def test_tf_decode_matches_numpy():
  codec = PackedCodec(SPEC)
  batch = np.stack([codec.encode(_value(i)) for i in range(4)])
  decoded = codec.decode(tf.constant(batch))
  assert decoded["step"].dtype == tf.int64 and decoded["done"].dtype == tf.bool
  assert decoded["pair"][1].shape == (4, 2, 2)
  for i in range(4):
    _assert_equal_nests({k: (v[0][i].numpy(), v[1][i].numpy()) if k == "pair" else v[i].numpy()
                         for k, v in decoded.items()}, _value(i))


def test_tf_decode_in_graph_with_unknown_batch():
  codec = PackedCodec(SPEC)
  fn = tf.function(codec.decode, input_signature=[tf.TensorSpec([None, codec.num_bytes],
                                                                tf.uint8)])
  decoded = fn(tf.constant(np.stack([codec.encode(_value(5))])))
  np.testing.assert_array_equal(decoded["obs"].numpy()[0], _value(5)["obs"])


def test_errors():
  codec = PackedCodec(SPEC)
  with pytest.raises(ValueError, match="expected 5 arrays"):
    codec.encode({"obs": np.zeros(3, np.float32)})
  with pytest.raises(ValueError, match="fully defined shapes"):
    PackedCodec(tf.TensorSpec([None, 2], tf.float32))
