"""Frame-deduplicated replay: every sampled observation is the stack the environment showed,
through LocalReplay and through a Reverb table, and a transition costs about one frame."""

import types

import numpy as np
import pytest
import tensorflow as tf

from rlrun.builders.off_policy import DqnBuilder
from rlrun.environments.atari_preprocessing import FrameStack
from rlrun.replay_buffers import reverb_utils
from rlrun.replay_buffers.frame_stacking import FrameStacking
from rlrun.replay_buffers.local_replay import LocalReplay
from rlrun.trajectories.trajectory import Trajectory
from rlrun.trajectories.time_step import StepType

DEPTH, SIDE = 3, 2


def data_spec(side=SIDE, depth=DEPTH):
  return Trajectory(
      step_type=tf.TensorSpec([], tf.int32), observation=tf.TensorSpec([depth, side, side], tf.uint8),
      action=tf.TensorSpec([], tf.int64), policy_info=(), next_step_type=tf.TensorSpec([], tf.int32),
      reward=tf.TensorSpec([], tf.float32), discount=tf.TensorSpec([], tf.float32))


def episodes(lengths, side=SIDE, depth=DEPTH):
  """Trajectories of episodes of `lengths` steps (+ a boundary each); the reward is the
  global step index, so a sampled step can be matched to the observation it had. Frames
  are 1 + the global index (never 0, the blank)."""
  truth, trajectories, index = {}, [], 0
  for length in lengths:
    stack = FrameStack((side, side), depth)
    for t in range(length + 1):
      frame = np.full((side, side), (index + 1) % 251 + 1, np.uint8)
      observation = stack.reset(frame) if t == 0 else stack.push(frame)
      step_type = StepType.FIRST if t == 0 else (StepType.LAST if t == length else StepType.MID)
      next_type = (StepType.FIRST if t == length else
                   StepType.LAST if t == length - 1 else StepType.MID)
      truth[index] = observation
      trajectories.append(Trajectory(np.int32(step_type), observation, np.int64(t), (),
                                     np.int32(next_type), np.float32(index), np.float32(1.0)))
      index += 1
  return trajectories, truth


def check_batch(batch, truth, length):
  observation, reward = np.asarray(batch.observation), np.asarray(batch.reward)
  assert observation.shape[-4:] == (length, DEPTH, SIDE, SIDE)
  flat_obs = observation.reshape((-1,) + observation.shape[-3:])
  for obs, index in zip(flat_obs, reward.reshape(-1)):
    np.testing.assert_array_equal(obs, truth[int(index)])
  return set(int(i) for i in reward.reshape(-1))


def test_stored_spec_keeps_one_frame_and_items_grow_by_depth_minus_one():
  stacking = FrameStacking(data_spec(), DEPTH)
  assert stacking.stored_spec.observation.shape.as_list() == [1, SIDE, SIDE]
  assert stacking.stored_length(2) == 2 + DEPTH - 1
  with pytest.raises(ValueError, match="first axis holds 4 frames"):
    FrameStacking(data_spec(), 4)


def test_local_replay_gives_back_every_stack_including_an_episodes_first_steps():
  stacking = FrameStacking(data_spec(), DEPTH)
  replay = LocalReplay(stacking.stored_spec, stacking.stored_length(2), capacity=1000, seed=0)
  writer = stacking.writer(replay)
  trajectories, truth = episodes([1, 5, 2])
  for trajectory in trajectories:
    writer(trajectory)
  # Items of 2 steps per episode: length + 1 trajectories -> length items each.
  assert replay.num_frames() == 1 + 5 + 2
  seen = check_batch(stacking.unstack(replay.sample(64, count=4)), truth, 2)
  # Every step that starts an item came back, the episodes' first steps included.
  assert {0, 2, 3, 4, 5, 6, 8, 9} <= seen


def test_a_retried_call_writes_no_second_set_of_blanks():
  stacking = FrameStacking(data_spec(), DEPTH)
  replay = LocalReplay(stacking.stored_spec, stacking.stored_length(2), capacity=100, seed=0)
  calls = []

  class FailsOnce:
    steps_in_episode = property(lambda self: replay.steps_in_episode)

    def __call__(self, trajectory):
      calls.append(1)
      if len(calls) == 2:
        raise TimeoutError("once")
      replay(trajectory)

  writer = stacking.writer(FailsOnce())
  trajectories, truth = episodes([4])
  with pytest.raises(TimeoutError):
    writer(trajectories[0])
  for trajectory in trajectories:
    writer(trajectory)
  assert replay.num_frames() == 4
  check_batch(stacking.unstack(replay.sample(32)), truth, 2)


@pytest.fixture
def reverb_parts():
  builder = DqnBuilder(frame_stack=DEPTH)
  agent = types.SimpleNamespace(collect_data_spec=data_spec(), train_sequence_length=2)
  server = reverb_utils.ReplayServer([builder.make_table(agent)])
  yield builder, agent, server
  server.stop()


def test_a_reverb_table_gives_back_every_stack(reverb_parts):
  builder, agent, server = reverb_parts
  replay_buffer = builder.make_replay_buffer(agent, local_server=server)
  writer = builder.make_writer(replay_buffer.py_client, agent,
                               packed=replay_buffer.codec is not None)
  trajectories, truth = episodes([1, 5, 2, 7])
  for trajectory in trajectories:
    writer(trajectory)
  writer.flush()
  assert replay_buffer.num_frames() == 1 + 5 + 2 + 7
  settings = types.SimpleNamespace(batch_size=16, iterations_per_call=1,
                                   train_steps_per_iteration=1)
  dataset = builder.make_dataset(replay_buffer, agent, settings)
  seen = set()
  for experience, _ in dataset.take(8):
    seen |= check_batch(experience, truth, 2)
  assert {0, 2, 8, 11} <= seen  # the first steps of episodes 1-4


def _rss_bytes() -> int:
  with open("/proc/self/statm") as f:
    return int(f.read().split()[1]) * 4096


def test_a_transition_costs_about_one_frame_in_reverb():
  """Random (incompressible) 84x84 frames: storing stacks of 4 would take ~4 frames per
  transition; one frame each plus Reverb's bookkeeping stays well under 2."""
  depth_first = lambda stack, frame: np.concatenate([stack[1:], frame[None]], 0)
  builder = DqnBuilder(frame_stack=4)
  agent = types.SimpleNamespace(collect_data_spec=data_spec(84, 4), train_sequence_length=2)
  server = reverb_utils.ReplayServer([builder.make_table(agent)])
  try:
    writer = builder.make_writer(server.client, agent, packed=True)
    rng = np.random.default_rng(0)
    count = 3000
    frames = rng.integers(0, 256, (count + 3, 84, 84), dtype=np.uint8)
    stack = np.zeros((4, 84, 84), np.uint8)
    for i in range(100):  # warm up the writer's buffers before measuring
      writer(Trajectory(np.int32(1), stack, np.int64(0), (), np.int32(1), np.float32(0), np.float32(1)))
    writer.flush()
    before = _rss_bytes()
    for i in range(count):
      stack = depth_first(stack, frames[i])
      writer(Trajectory(np.int32(1), stack, np.int64(0), (), np.int32(1), np.float32(i),
                        np.float32(1)))
    writer.flush()
    per_transition = (_rss_bytes() - before) / count
    assert server.client.server_info()[builder.table_name].current_size >= count
    assert per_transition < 2 * 84 * 84, per_transition / (84 * 84)
  finally:
    server.stop()


def test_a_local_replay_stores_each_frame_once_and_warns_when_huge(capsys):
  builder = DqnBuilder(frame_stack=4)
  agent = types.SimpleNamespace(collect_data_spec=data_spec(84, 4), train_sequence_length=11)
  # Items of 14 single-frame steps, one per step: 100k items hold about 100k steps of 7,080
  # bytes (a frame and the other fields), not 14 copies of each.
  replay = builder.make_local_replay(agent, builder.make_table(agent, max_size=100000), seed=0)
  assert replay.bytes_at_capacity == (100000 + 14) * 7080
  assert capsys.readouterr().err == ""
  huge = builder.make_local_replay(agent, builder.make_table(agent, max_size=1000000), seed=0)
  assert huge.bytes_at_capacity == (1000000 + 14) * 7080  # pages fill only as items arrive
  err = capsys.readouterr().err
  assert err.startswith("rlrun: warning: the local replay holds each step uncompressed: 6.6 GiB")
