"""numpy specs: repr, check_array, bounds, sampling and outer dims."""

import numpy as np
import pytest

from rlrun.specs import array_spec


def test_bounded_repr_matches_tutorial_format():
  spec = array_spec.BoundedArraySpec((), np.int64, minimum=0, maximum=1, name="action")
  assert repr(spec) == ("BoundedArraySpec(shape=(), dtype=dtype('int64'), name='action', "
                        "minimum=0, maximum=1)")


def test_bounded_repr_with_array_bounds():
  spec = array_spec.BoundedArraySpec((2,), np.float32, [-1.5, 0.0], [1.5, 2.0], name="obs")
  assert repr(spec) == ("BoundedArraySpec(shape=(2,), dtype=dtype('float32'), name='obs', "
                        "minimum=[-1.5  0. ], maximum=[1.5 2. ])")


def test_array_spec_repr_and_equality_ignores_name():
  spec = array_spec.ArraySpec((3,), np.float32, "obs")
  assert repr(spec) == "ArraySpec(shape=(3,), dtype=dtype('float32'), name='obs')"
  assert spec == array_spec.ArraySpec([3], "float32", "other")
  assert spec != array_spec.ArraySpec((3,), np.float64, "obs")
  assert spec != array_spec.BoundedArraySpec((3,), np.float32, name="obs")


def test_default_bounds_are_the_dtype_range():
  spec = array_spec.BoundedArraySpec((2,), np.int8)
  assert spec.minimum == -128 and spec.maximum == 127
  assert spec.minimum.dtype == np.int8


def test_check_array_shape_dtype_and_bounds():
  spec = array_spec.BoundedArraySpec((2,), np.int32, 0, 3)
  assert spec.check_array(np.array([0, 3], np.int32))
  assert not spec.check_array(np.array([0, 4], np.int32))  # above maximum
  assert not spec.check_array(np.array([-1, 0], np.int32))  # below minimum
  assert not spec.check_array(np.array([0, 1], np.int64))  # dtype
  assert not spec.check_array(np.array([0, 1, 2], np.int32))  # shape
  assert not spec.check_array([0, 1])  # not an array
  scalar = array_spec.ArraySpec((), np.float32)
  assert scalar.check_array(np.float32(1.5))
  assert not scalar.check_array(np.float64(1.5))
  assert not scalar.check_array(1.5)


def test_invalid_bounds_raise_with_spec_name():
  with pytest.raises(ValueError, match="'bad'.*minimum 3 exceeds maximum 1"):
    array_spec.BoundedArraySpec((), np.int32, 3, 1, name="bad")
  with pytest.raises(ValueError, match="does not broadcast to shape \\(2,\\) of spec 'b'"):
    array_spec.BoundedArraySpec((2,), np.float32, [0.0, 0.0, 0.0], 1.0, name="b")


def test_num_values():
  assert array_spec.BoundedArraySpec((), np.int64, 2, 4).num_values == 3
  with pytest.raises(ValueError, match="integer spec"):
    array_spec.BoundedArraySpec((), np.float32, 0.0, 1.0).num_values  # pylint: disable=expression-not-assigned


def test_sample_spec_nest_bounds_shapes_dtypes():
  specs = {
      "int": array_spec.BoundedArraySpec((2,), np.int32, -2, 2),
      "float": array_spec.BoundedArraySpec((3,), np.float32, [0.0, -1.0, 10.0], [1.0, 0.0, 11.0]),
      "unbounded_int": array_spec.ArraySpec((), np.int64),
      "unbounded_float": array_spec.ArraySpec((4,), np.float64),
      "flag": array_spec.ArraySpec((), np.bool_),
  }
  rng = np.random.default_rng(0)
  sample = array_spec.sample_spec_nest(specs, rng, outer_dims=(2000,))
  assert sample["int"].shape == (2000, 2) and sample["int"].dtype == np.int32
  assert set(np.unique(sample["int"])) == {-2, -1, 0, 1, 2}  # inclusive bounds
  f = sample["float"]
  assert f.shape == (2000, 3) and f.dtype == np.float32
  assert np.all(f >= [0.0, -1.0, 10.0]) and np.all(f <= [1.0, 0.0, 11.0])
  assert sample["unbounded_int"].shape == (2000,) and sample["unbounded_int"].dtype == np.int64
  assert sample["unbounded_int"].min() >= -10 and sample["unbounded_int"].max() <= 10
  u = sample["unbounded_float"]
  assert u.shape == (2000, 4) and u.dtype == np.float64
  assert abs(u.mean()) < 0.1 and 0.9 < u.std() < 1.1  # standard normal
  assert sample["flag"].dtype == np.bool_ and set(np.unique(sample["flag"])) == {False, True}
  # every sample (without outer dims) fits its spec
  single = array_spec.sample_spec_nest(specs, rng)
  assert array_spec.check_arrays_nest(
      {k: v for k, v in single.items() if k in ("int", "float")},
      {k: specs[k] for k in ("int", "float")})


def test_sample_float_spec_at_dtype_limits_is_finite():
  spec = array_spec.BoundedArraySpec((1000,), np.float32)  # bounds = float32 range
  sample = array_spec.sample_spec_nest(spec, np.random.default_rng(1))
  assert np.all(np.isfinite(sample)) and np.abs(sample).max() < 10


def test_same_seed_same_sample():
  spec = array_spec.BoundedArraySpec((5,), np.float32, 0.0, 1.0)
  a = array_spec.sample_spec_nest(spec, np.random.default_rng(7))
  b = array_spec.sample_spec_nest(spec, np.random.default_rng(7))
  np.testing.assert_array_equal(a, b)


def test_add_outer_dims_nest_keeps_bounds_and_names():
  specs = (array_spec.BoundedArraySpec((2,), np.int32, 0, 5, "a"),
           array_spec.ArraySpec((), np.float32, "b"))
  out = array_spec.add_outer_dims_nest(specs, (4, 3))
  assert out[0].shape == (4, 3, 2) and out[0].name == "a"
  assert out[0].minimum == 0 and out[0].maximum == 5
  assert isinstance(out[1], array_spec.ArraySpec) and not array_spec.is_bounded(out[1])
  assert out[1].shape == (4, 3) and out[1].name == "b"


def test_zero_spec_and_check_arrays_nest():
  specs = {"x": array_spec.ArraySpec((2,), np.float32), "y": array_spec.ArraySpec((), np.int32)}
  zeros = array_spec.zero_spec_nest(specs, outer_dims=(3,))
  assert zeros["x"].shape == (3, 2) and zeros["y"].dtype == np.int32 and not zeros["x"].any()
  single = array_spec.zero_spec_nest(specs)
  assert array_spec.check_arrays_nest(single, specs)
  assert not array_spec.check_arrays_nest({"x": single["x"]}, specs)  # structure differs
  assert not array_spec.check_arrays_nest(zeros, specs)  # shapes differ


def test_from_spec_and_replace():
  plain = array_spec.ArraySpec((), np.int32, "n")
  bounded = array_spec.BoundedArraySpec.from_spec(plain)
  assert bounded.minimum == np.iinfo(np.int32).min and bounded.name == "n"
  assert array_spec.BoundedArraySpec.from_spec(bounded) is bounded
  replaced = array_spec.BoundedArraySpec((), np.int32, 0, 3, "a").replace(maximum=7)
  assert replaced.minimum == 0 and replaced.maximum == 7 and replaced.name == "a"
