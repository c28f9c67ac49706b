"""TensorFlow specs: conversion to and from ArraySpecs, outer dims, sampling."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.specs import array_spec, tensor_spec

OBS = array_spec.BoundedArraySpec((4,), np.float32, [-4.8, -1.0, -0.4, -2.0],
                                  [4.8, 1.0, 0.4, 2.0], name="obs")
ACTION = array_spec.BoundedArraySpec((), np.int64, 0, 1, name="action")


def test_from_spec_and_back_keeps_bounds_and_names():
  nest = {"obs": OBS, "action": ACTION, "plain": array_spec.ArraySpec((2, 3), np.int32, "p")}
  tf_specs = tensor_spec.from_spec(nest)
  assert isinstance(tf_specs["obs"], tensor_spec.BoundedTensorSpec)
  assert tf_specs["obs"].dtype == tf.float32 and tf_specs["obs"].shape == (4,)
  np.testing.assert_array_equal(tf_specs["obs"].minimum, OBS.minimum)
  assert type(tf_specs["plain"]) is tf.TensorSpec and tf_specs["plain"].name == "p"
  back = tensor_spec.to_nest_array_spec(tf_specs)
  assert back == nest  # BoundedArraySpec equality compares bounds
  assert isinstance(back["obs"], array_spec.BoundedArraySpec)
  assert back["action"].name == "action" and back["action"].dtype == np.int64
  assert type(back["plain"]) is array_spec.ArraySpec
  # idempotent on TensorSpecs
  assert tensor_spec.from_spec(tf_specs["obs"]) is tf_specs["obs"]


def test_conversion_errors_name_the_type():
  with pytest.raises(TypeError, match="from_spec needs ArraySpec or TensorSpec leaves, got int"):
    tensor_spec.from_spec({"x": 3})
  with pytest.raises(TypeError, match="to_array_spec needs a TensorSpec, got str"):
    tensor_spec.to_array_spec("nope")


def test_add_outer_dim():
  out = tensor_spec.add_outer_dim({"obs": OBS, "plain": array_spec.ArraySpec((2,), np.int32)})
  assert out["obs"].shape.as_list() == [None, 4]
  assert isinstance(out["obs"], tensor_spec.BoundedTensorSpec)
  np.testing.assert_array_equal(out["obs"].maximum, OBS.maximum)
  assert out["plain"].shape.as_list() == [None, 2] and out["plain"].dtype == tf.int32
  fixed = tensor_spec.add_outer_dims_nest(OBS, (5, 3))
  assert fixed.shape.as_list() == [5, 3, 4] and fixed.name == "obs"


def test_sample_spec_nest_bounds_shapes_dtypes():
  specs = {
      "action": ACTION,
      "shifted": array_spec.BoundedArraySpec((), np.int32, 2, 4),
      "per_dim_int": array_spec.BoundedArraySpec((2,), np.int32, [0, 10], [1, 12]),
      "obs": OBS,
      "unbounded": array_spec.ArraySpec((3,), np.float32),
      "flag": array_spec.ArraySpec((), np.bool_),
  }
  s = tensor_spec.sample_spec_nest(specs, outer_dims=[2000])
  assert s["action"].dtype == tf.int64 and s["action"].shape == (2000,)
  assert set(np.unique(s["action"].numpy())) == {0, 1}
  assert s["shifted"].dtype == tf.int32 and set(np.unique(s["shifted"].numpy())) == {2, 3, 4}
  per_dim = s["per_dim_int"].numpy()
  assert per_dim.shape == (2000, 2)
  assert set(np.unique(per_dim[:, 0])) == {0, 1} and set(np.unique(per_dim[:, 1])) == {10, 11, 12}
  obs = s["obs"].numpy()
  assert obs.shape == (2000, 4) and obs.dtype == np.float32
  assert np.all(obs >= OBS.minimum) and np.all(obs <= OBS.maximum)
  assert obs[:, 0].min() < -4.0 and obs[:, 0].max() > 4.0  # uniform over the whole range
  assert s["unbounded"].shape == (2000, 3) and abs(float(tf.reduce_mean(s["unbounded"]))) < 0.1
  assert s["flag"].dtype == tf.bool and set(np.unique(s["flag"].numpy())) == {False, True}


def test_sample_with_tensor_outer_dims_and_no_outer_dims():
  batch = tf.constant(7)
  s = tensor_spec.sample_spec_nest(ACTION, outer_dims=[batch, 2])
  assert s.shape == (7, 2)
  assert tensor_spec.sample_spec_nest(OBS).shape == (4,)


def test_stateless_seed_gives_identical_samples():
  specs = (ACTION, OBS, array_spec.ArraySpec((2,), np.float32))
  a = tensor_spec.sample_spec_nest(specs, outer_dims=[16], seed=(3, 4))
  b = tensor_spec.sample_spec_nest(specs, outer_dims=[16], seed=(3, 4))
  c = tensor_spec.sample_spec_nest(specs, outer_dims=[16], seed=(3, 5))
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x.numpy(), y.numpy())
  assert not np.array_equal(a[1].numpy(), c[1].numpy())


def test_zero_spec_nest():
  z = tensor_spec.zero_spec_nest({"obs": OBS, "a": ACTION}, outer_dims=(3,))
  assert z["obs"].shape == (3, 4) and z["a"].dtype == tf.int64
  assert float(tf.reduce_sum(tf.abs(z["obs"]))) == 0.0
  assert tensor_spec.zero_spec_nest(OBS).shape == (4,)


def test_predicates():
  assert tensor_spec.is_bounded(OBS) and tensor_spec.is_bounded(tensor_spec.from_spec(OBS))
  assert not tensor_spec.is_bounded(tf.TensorSpec((), tf.float32))
  assert tensor_spec.is_discrete(ACTION) and not tensor_spec.is_continuous(ACTION)
  assert tensor_spec.is_continuous(tensor_spec.from_spec(OBS))
