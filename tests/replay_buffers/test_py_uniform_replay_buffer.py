"""PyUniformReplayBuffer: numpy ring, windows that never wrap, datasets, errors, observers."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.replay_buffers.py_uniform_replay_buffer import PyUniformReplayBuffer
from rlrun.replay_buffers.replay_buffer import BufferInfo, ReplayBuffer
from rlrun.specs import array_spec, tensor_spec
from rlrun.trajectories import StepType, Trajectory

TUTORIAL_SPEC = (tf.TensorSpec([3], tf.float32, "action"),
                 (tf.TensorSpec([5], tf.float32, "lidar"),
                  tf.TensorSpec([3, 2], tf.float32, "camera")))
# Each item records its position in the stream of added items.
INDEX_SPEC = {"index": array_spec.ArraySpec((), np.int64, "index"),
              "pixels": array_spec.ArraySpec((2,), np.float32, "pixels")}


def shapes(nest):
  return tf.nest.map_structure(lambda t: tuple(t.shape), nest)


def items(first, count):
  index = np.arange(first, first + count)
  return {"index": index, "pixels": np.stack([index, -index], -1).astype(np.float32)}


def filled_buffer(capacity=5, count=7):
  buffer = PyUniformReplayBuffer(INDEX_SPEC, capacity=capacity, seed=0)
  for i in range(count):
    buffer.add_batch(items(i, 1))
  return buffer


def test_tutorial_construction_converts_tensor_specs():
  buffer = PyUniformReplayBuffer(capacity=1000 * 32,
                                 data_spec=tensor_spec.to_nest_array_spec(TUTORIAL_SPEC))
  assert isinstance(buffer, ReplayBuffer) and buffer.capacity == 32000
  direct = PyUniformReplayBuffer(TUTORIAL_SPEC, capacity=10)
  assert direct.data_spec == tensor_spec.to_nest_array_spec(TUTORIAL_SPEC)
  assert isinstance(direct.data_spec[1][1], array_spec.ArraySpec)
  batch = (tf.ones([4, 3]), (2 * np.ones([4, 5]), 3 * np.ones([4, 3, 2], np.float32)))
  direct.add_batch(batch)  # tensors and float64 arrays are converted
  everything = direct.gather_all()
  assert shapes(everything) == ((1, 4, 3), ((1, 4, 5), (1, 4, 3, 2)))
  assert everything[1][0].dtype == np.float32 and np.all(everything[1][0] == 2.0)
  sample, info = direct.get_next(sample_batch_size=10, num_steps=2)
  assert shapes(sample) == ((10, 2, 3), ((10, 2, 5), (10, 2, 3, 2)))
  assert isinstance(info, BufferInfo) and info.ids.shape == (10,)


def test_ring_keeps_the_newest_capacity_items_in_order():
  buffer = filled_buffer(capacity=5, count=7)
  np.testing.assert_array_equal(buffer.gather_all()["index"], [[2, 3, 4, 5, 6]])
  assert buffer.num_frames() == 5
  buffer.add_batch(items(7, 3))  # the rows of a batch are stored one after another
  np.testing.assert_array_equal(buffer.gather_all()["index"], [[5, 6, 7, 8, 9]])
  buffer.add_batch(items(10, 8))  # more than the capacity: only the newest 5 remain
  np.testing.assert_array_equal(buffer.gather_all()["index"], [[13, 14, 15, 16, 17]])
  np.testing.assert_array_equal(buffer.gather_all()["pixels"][0, :, 1], [-13, -14, -15, -16, -17])
  buffer.clear()
  assert buffer.num_frames() == 0 and buffer.gather_all()["index"].shape == (1, 0)


def test_sampled_windows_are_consecutive_and_never_wrap():
  buffer = filled_buffer(capacity=5, count=7)
  sample, info = buffer.get_next(sample_batch_size=300, num_steps=3)
  index = sample["index"]
  np.testing.assert_array_equal(index - index[:, :1], np.tile([0, 1, 2], (300, 1)))
  assert set(index[:, 0]) == {2, 3, 4}  # never (5, 6, 2): that would wrap to the oldest
  np.testing.assert_array_equal(info.ids, index[:, 0])
  np.testing.assert_allclose(info.probabilities, 1 / 3)
  item, info = buffer.get_next()
  assert shapes(item) == {"index": (), "pixels": (2,)} and info.ids.shape == ()
  steps, _ = buffer.get_next(sample_batch_size=4, num_steps=2, time_stacked=False)
  assert len(steps) == 2
  np.testing.assert_array_equal(steps[1]["index"], steps[0]["index"] + 1)


def test_empty_and_too_short_buffers_raise_clear_errors():
  buffer = PyUniformReplayBuffer(INDEX_SPEC, capacity=4)
  with pytest.raises(ValueError, match="is empty: call add_batch"):
    buffer.get_next(sample_batch_size=2)
  dataset = buffer.as_dataset(sample_batch_size=2, num_steps=2)
  with pytest.raises(tf.errors.InvalidArgumentError, match="is empty"):
    next(iter(dataset))
  buffer.add_batch(items(0, 1))
  with pytest.raises(ValueError, match="holds 1 steps per row, fewer than num_steps=2"):
    buffer.get_next(num_steps=2)
  with pytest.raises(tf.errors.InvalidArgumentError, match="fewer than num_steps=2"):
    next(iter(dataset))
  buffer.add_batch(items(1, 1))
  assert shapes(next(iter(dataset))[0]) == {"index": (2, 2), "pixels": (2, 2, 2)}


def test_add_batch_rejects_mismatched_items():
  buffer = PyUniformReplayBuffer(INDEX_SPEC, capacity=4)
  with pytest.raises(ValueError, match=r"expected \(batch,\) \+ \(2,\)"):
    buffer.add_batch({"index": np.arange(2), "pixels": np.zeros([2, 3], np.float32)})
  with pytest.raises(TypeError, match="dtype float64, the spec wants int64"):
    buffer.add_batch({"index": np.zeros([2]), "pixels": np.zeros([2, 2], np.float32)})
  with pytest.raises(ValueError, match="batch size 3, other leaves have 2"):
    buffer.add_batch({"index": np.arange(2), "pixels": np.zeros([3, 2], np.float32)})
  with pytest.raises(ValueError, match="structure differs"):
    buffer.add_batch({"index": np.arange(2)})
  with pytest.raises(ValueError, match="capacity=0"):
    PyUniformReplayBuffer(INDEX_SPEC, capacity=0)


def test_dataset_signature_and_samples():
  buffer = filled_buffer(capacity=5, count=7)
  dataset = buffer.as_dataset(sample_batch_size=4, num_steps=2)
  items_spec, info_spec = dataset.element_spec
  assert items_spec == {"index": tf.TensorSpec([4, 2], tf.int64),
                        "pixels": tf.TensorSpec([4, 2, 2], tf.float32)}
  assert info_spec == BufferInfo(tf.TensorSpec([4], tf.int64), tf.TensorSpec([4], tf.float32))
  for sample, info in dataset.take(3):
    index = sample["index"].numpy()
    np.testing.assert_array_equal(index[:, 1], index[:, 0] + 1)
    np.testing.assert_array_equal(info.ids.numpy(), index[:, 0])
    np.testing.assert_array_equal(sample["pixels"].numpy()[..., 1], -index)
  unbatched = buffer.as_dataset()
  assert unbatched.element_spec[0]["pixels"] == tf.TensorSpec([2], tf.float32)


def test_single_deterministic_pass_yields_each_window_once_in_order():
  buffer = filled_buffer(capacity=5, count=7)
  windows = [tuple(sample["index"].numpy()) for sample, _ in
             buffer.as_dataset(num_steps=2, single_deterministic_pass=True)]
  assert windows == [(2, 3), (3, 4), (4, 5), (5, 6)]
  batches = list(buffer.as_dataset(sample_batch_size=3, single_deterministic_pass=True))
  assert [b["index"].numpy().tolist() for b, _ in batches] == [[2, 3, 4], [5, 6]]
  assert [i.ids.numpy().tolist() for _, i in batches] == [[2, 3, 4], [5, 6]]
  passes = buffer.as_dataset(num_steps=2, single_deterministic_pass=True)
  buffer.clear()
  assert list(passes) == []  # each iteration reads the buffer afresh


def test_add_batch_works_as_a_driver_observer():
  spec = Trajectory(step_type=array_spec.ArraySpec((), np.int32, "step_type"),
                    observation=array_spec.ArraySpec((2,), np.float32, "observation"),
                    action=array_spec.BoundedArraySpec((), np.int64, 0, 1, "action"),
                    policy_info=(), next_step_type=array_spec.ArraySpec((), np.int32, "step_type"),
                    reward=array_spec.ArraySpec((), np.float32, "reward"),
                    discount=array_spec.ArraySpec((), np.float32, "discount"))
  buffer = PyUniformReplayBuffer(spec, capacity=100)
  observers = [buffer.add_batch]  # what a driver is given
  for t in range(6):  # one environment: batches of 1, so windows are time sequences
    trajectory = Trajectory(
        step_type=np.array([StepType.FIRST if t == 0 else StepType.MID], np.int32),
        observation=np.array([[t, 0.0]], np.float32), action=np.array([t % 2], np.int64),
        policy_info=(), next_step_type=np.array([StepType.MID], np.int32),
        reward=np.array([1.0], np.float32), discount=np.array([1.0], np.float32))
    for observer in observers:
      observer(trajectory)
  everything = buffer.gather_all()
  assert isinstance(everything, Trajectory) and everything.observation.shape == (1, 6, 2)
  np.testing.assert_array_equal(everything.action, [[0, 1, 0, 1, 0, 1]])
  experience, _ = next(iter(buffer.as_dataset(sample_batch_size=4, num_steps=2)))
  obs = experience.observation.numpy()
  np.testing.assert_array_equal(obs[:, 1, 0], obs[:, 0, 0] + 1)
  np.testing.assert_array_equal(experience.action.numpy(), obs[..., 0].astype(np.int64) % 2)
