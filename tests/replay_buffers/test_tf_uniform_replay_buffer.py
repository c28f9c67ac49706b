"""TFUniformReplayBuffer: the tutorial example, ring wrap-around, errors, graph mode, DQN."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.agents.dqn_agent import DqnAgent
from rlrun.networks.q_network import QNetwork
from rlrun.replay_buffers.replay_buffer import BufferInfo, ReplayBuffer
from rlrun.replay_buffers.tf_uniform_replay_buffer import TFUniformReplayBuffer
from rlrun.specs import tensor_spec
from rlrun.trajectories import StepType, Trajectory, time_step as ts

TUTORIAL_SPEC = (tf.TensorSpec([3], tf.float32, "action"),
                 (tf.TensorSpec([5], tf.float32, "lidar"),
                  tf.TensorSpec([3, 2], tf.float32, "camera")))
# Each item records which add_batch call wrote it and into which row.
INDEX_SPEC = {"add": tf.TensorSpec([], tf.int64, "add"), "row": tf.TensorSpec([], tf.int32, "row"),
              "pixels": tf.TensorSpec([2], tf.float32, "pixels")}


def shapes(nest):
  return tf.nest.map_structure(lambda t: tuple(t.shape), nest)


def indexed_batch(add, batch_size):
  rows = np.arange(batch_size)
  return {"add": np.full([batch_size], add, np.int64), "row": rows.astype(np.int32),
          "pixels": np.stack([np.full(batch_size, add), rows], -1).astype(np.float32)}


def filled_buffer(batch_size=2, max_length=4, adds=6):
  buffer = TFUniformReplayBuffer(INDEX_SPEC, batch_size=batch_size, max_length=max_length)
  for add in range(adds):
    buffer.add_batch(indexed_batch(add, batch_size))
  return buffer


def test_tutorial_example_shapes_and_values():
  buffer = TFUniformReplayBuffer(TUTORIAL_SPEC, batch_size=32, max_length=1000)
  assert isinstance(buffer, ReplayBuffer) and buffer.capacity == 32000
  values = (tf.ones([3]), (2 * tf.ones([5]), 3 * tf.ones([3, 2])))
  batched = tf.nest.map_structure(lambda t: tf.stack([t] * 32), values)
  for _ in range(6):
    buffer.add_batch(batched)
  sample, info = buffer.get_next(sample_batch_size=10, num_steps=1)
  assert shapes(sample) == ((10, 1, 3), ((10, 1, 5), (10, 1, 3, 2)))
  assert isinstance(info, BufferInfo) and info.ids.shape == (10,)
  iterator = iter(buffer.as_dataset(sample_batch_size=4, num_steps=2))
  for _ in range(3):
    trajectories, _ = next(iterator)
    assert shapes(trajectories) == ((4, 2, 3), ((4, 2, 5), (4, 2, 3, 2)))
    for leaf, value in zip(tf.nest.flatten(trajectories), (1.0, 2.0, 3.0)):
      np.testing.assert_array_equal(leaf.numpy(), np.full(leaf.shape, value, np.float32))
  everything = buffer.gather_all()
  assert shapes(everything) == ((32, 6, 3), ((32, 6, 5), (32, 6, 3, 2)))
  assert int(buffer.num_frames()) == 32 * 6


def test_values_written_are_read_back_with_ids_and_probabilities():
  buffer = filled_buffer(batch_size=3, max_length=10, adds=4)
  everything = buffer.gather_all()
  np.testing.assert_array_equal(everything["add"].numpy(), np.tile(np.arange(4), (3, 1)))
  np.testing.assert_array_equal(everything["row"].numpy(), np.tile([[0], [1], [2]], (1, 4)))
  np.testing.assert_array_equal(everything["pixels"].numpy()[2, 3], [3.0, 2.0])
  items, info = buffer.get_next(sample_batch_size=50, num_steps=3)
  adds, rows = items["add"].numpy(), items["row"].numpy()
  np.testing.assert_array_equal(adds, adds[:, :1] + np.arange(3))
  np.testing.assert_array_equal(rows, np.repeat(rows[:, :1], 3, axis=1))
  np.testing.assert_array_equal(items["pixels"].numpy()[..., 0], adds.astype(np.float32))
  np.testing.assert_array_equal(info.ids.numpy(), adds[:, 0] * 3 + rows[:, 0])
  np.testing.assert_allclose(info.probabilities.numpy(), 1 / (3 * 2))  # 3 rows x 2 starts


def test_wrap_around_keeps_the_newest_in_order_and_windows_never_cross_the_seam():
  buffer = filled_buffer(batch_size=2, max_length=4, adds=6)
  np.testing.assert_array_equal(buffer.gather_all()["add"].numpy(), [[2, 3, 4, 5]] * 2)
  assert int(buffer.num_frames()) == 8
  items, _ = buffer.get_next(sample_batch_size=300, num_steps=2)
  adds = items["add"].numpy()
  np.testing.assert_array_equal(adds[:, 1] - adds[:, 0], np.ones(300))
  assert set(adds[:, 0]) == {2, 3, 4}  # never (5, 2): the seam between newest and oldest
  assert set(items["row"].numpy()[:, 0]) == {0, 1}
  batch, _ = next(iter(buffer.as_dataset(sample_batch_size=100, num_steps=3)))
  adds = batch["add"].numpy()
  np.testing.assert_array_equal(adds - adds[:, :1], [[0, 1, 2]] * 100)
  assert set(adds[:, 0]) <= {2, 3}


def test_unbatched_and_unstacked_samples():
  buffer = filled_buffer(adds=3)
  item, info = buffer.get_next()
  assert shapes(item) == {"add": (), "row": (), "pixels": (2,)} and info.ids.shape == ()
  steps, _ = buffer.get_next(sample_batch_size=5, num_steps=2, time_stacked=False)
  assert isinstance(steps, tuple) and len(steps) == 2
  np.testing.assert_array_equal(steps[1]["add"].numpy(), steps[0]["add"].numpy() + 1)
  item, _ = next(iter(buffer.as_dataset(num_steps=2)))
  assert shapes(item)["pixels"] == (2, 2)


def test_empty_and_too_short_buffers_raise_clear_errors():
  buffer = TFUniformReplayBuffer(INDEX_SPEC, batch_size=2, max_length=4)
  with pytest.raises(tf.errors.InvalidArgumentError, match="is empty: call add_batch"):
    buffer.get_next(sample_batch_size=2)
  buffer.add_batch(indexed_batch(0, 2))
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match="holds 1 steps per row, fewer than num_steps=2"):
    buffer.get_next(sample_batch_size=2, num_steps=2)
  with pytest.raises(tf.errors.InvalidArgumentError, match="fewer than num_steps=2"):
    next(iter(buffer.as_dataset(sample_batch_size=2, num_steps=2)))
  with pytest.raises(ValueError, match="num_steps=5 exceeds max_length=4"):
    buffer.get_next(num_steps=5)
  with pytest.raises(ValueError, match="sample_batch_size=0"):
    buffer.as_dataset(sample_batch_size=0)
  buffer.clear()
  assert int(buffer.num_frames()) == 0 and buffer.gather_all()["add"].shape == (2, 0)
  with pytest.raises(tf.errors.InvalidArgumentError, match="is empty"):
    buffer.get_next()


def test_add_batch_rejects_mismatched_items():
  buffer = TFUniformReplayBuffer(INDEX_SPEC, batch_size=2, max_length=4)
  with pytest.raises(ValueError, match=r"expected \(2,\)"):
    buffer.add_batch(indexed_batch(0, 3))
  bad = dict(indexed_batch(0, 2), add=tf.zeros([2], tf.float32))
  with pytest.raises(TypeError, match="dtype float32, the spec wants int64"):
    buffer.add_batch(bad)
  with pytest.raises(ValueError, match="structure differs"):
    buffer.add_batch({"add": np.zeros([2], np.int64)})


def test_single_deterministic_pass_yields_each_window_once_in_order():
  buffer = filled_buffer(batch_size=2, max_length=4, adds=6)
  windows = [(int(items["row"][0]), tuple(items["add"].numpy()), int(info.ids))
             for items, info in buffer.as_dataset(num_steps=2, single_deterministic_pass=True)]
  expected = [(row, (a, a + 1)) for row in (0, 1) for a in (2, 3, 4)]
  assert [w[:2] for w in windows] == expected
  assert [w[2] for w in windows] == [a * 2 + row for row, (a, _) in expected]
  sizes = [int(items["add"].shape[0]) for items, _ in
           buffer.as_dataset(sample_batch_size=4, num_steps=2, single_deterministic_pass=True)]
  assert sizes == [4, 2]
  single = list(buffer.as_dataset(sample_batch_size=3, single_deterministic_pass=True))
  assert [shapes(items)["pixels"] for items, _ in single] == [(3, 2)] * 2 + [(2, 2)]
  dropping = TFUniformReplayBuffer(INDEX_SPEC, 2, 4, dataset_drop_remainder=True)
  for add in range(6):
    dropping.add_batch(indexed_batch(add, 2))
  assert len(list(dropping.as_dataset(4, 2, single_deterministic_pass=True))) == 1
  # The dataset re-reads the buffer on each iteration: it sees later adds.
  passes = buffer.as_dataset(num_steps=2, single_deterministic_pass=True)
  buffer.clear()
  assert len(list(passes)) == 0


def test_add_batch_and_get_next_inside_tf_function():
  buffer = TFUniformReplayBuffer(INDEX_SPEC, batch_size=2, max_length=4)

  @tf.function
  def collect_and_sample(batch):
    assert not tf.executing_eagerly()
    buffer.add_batch(batch)
    return buffer.get_next(sample_batch_size=8, num_steps=1), buffer.num_frames()

  for add in range(5):
    (items, _), frames = collect_and_sample(indexed_batch(add, 2))
    assert int(frames) == 2 * min(add + 1, 4)
    assert set(items["add"].numpy()[:, 0]) <= set(range(max(0, add - 3), add + 1))
  np.testing.assert_array_equal(buffer.gather_all()["add"].numpy(), [[1, 2, 3, 4]] * 2)


def test_checkpoint_restores_contents(tmp_path):
  buffer = filled_buffer(adds=5)
  path = tf.train.Checkpoint(buffer=buffer).save(str(tmp_path / "rb"))
  restored = TFUniformReplayBuffer(INDEX_SPEC, batch_size=2, max_length=4)
  tf.train.Checkpoint(buffer=restored).restore(path).assert_consumed()
  np.testing.assert_array_equal(restored.gather_all()["add"].numpy(), [[1, 2, 3, 4]] * 2)


def make_dqn():
  observation_spec = tf.TensorSpec([2], tf.float32, "observation")
  action_spec = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1, "action")
  q_net = QNetwork(observation_spec, action_spec, fc_layer_params=(8,))
  agent = DqnAgent(ts.time_step_spec(observation_spec), action_spec, q_net,
                   tf.keras.optimizers.Adam(1e-3))
  agent.initialize()
  return agent


def fake_trajectory(step, batch_size, rng):
  """A batched Trajectory as a driver would hand to its observers."""
  step_type = StepType.FIRST if step % 5 == 0 else StepType.MID
  next_type = StepType.LAST if step % 5 == 4 else StepType.MID
  full = lambda value, dtype: tf.constant(np.full([batch_size], value), dtype)
  return Trajectory(step_type=full(step_type, tf.int32),
                    observation=tf.constant(rng.normal(size=[batch_size, 2]), tf.float32),
                    action=tf.constant(rng.integers(0, 2, size=[batch_size]), tf.int64),
                    policy_info=(), next_step_type=full(next_type, tf.int32),
                    reward=full(1.0, tf.float32),
                    discount=full(0.0 if next_type == StepType.LAST else 1.0, tf.float32))


def test_add_batch_works_as_a_driver_observer_and_feeds_dqn_training():
  agent = make_dqn()
  buffer = TFUniformReplayBuffer(agent.collect_data_spec, batch_size=2, max_length=100)
  observers = [buffer.add_batch]  # what a driver is given
  rng = np.random.default_rng(0)
  for step in range(10):
    trajectory = fake_trajectory(step, 2, rng)
    for observer in observers:
      observer(trajectory)
  assert int(buffer.num_frames()) == 20
  np.testing.assert_array_equal(buffer.gather_all().step_type.numpy()[0],
                                [0, 1, 1, 1, 1, 0, 1, 1, 1, 1])
  iterator = iter(buffer.as_dataset(sample_batch_size=4, num_steps=2))
  for _ in range(3):
    experience, _ = next(iterator)
    assert experience.observation.shape == (4, 2, 2)
    loss = agent.train(experience).loss
    assert np.isfinite(loss.numpy())
  assert int(agent.train_step_counter) == 3
