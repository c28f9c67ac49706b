"""Atari frame preprocessing on hand-made frames: area resizing and frame stacks."""

import numpy as np
import pytest

from rlrun.environments.atari_preprocessing import AreaResize, FrameStack, area_weights


def test_area_weights_average_each_output_cells_share_of_the_input():
  # 5 -> 2: output 0 covers input [0, 2.5): cells 0, 1 whole and half of cell 2.
  weights = area_weights(5, 2)
  np.testing.assert_allclose(weights, [[0.4, 0.4, 0.2, 0, 0], [0, 0, 0.2, 0.4, 0.4]], atol=1e-7)
  np.testing.assert_allclose(area_weights(210, 84).sum(axis=1), 1.0, atol=1e-5)


def test_resize_by_an_integer_factor_is_the_block_mean():
  frame = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10
  resized = AreaResize((4, 4), (2, 2))(frame)
  expected = frame.reshape(2, 2, 2, 2).mean(axis=(1, 3))
  np.testing.assert_array_equal(resized, np.rint(expected).astype(np.uint8))
  assert resized.dtype == np.uint8


def test_resize_of_an_atari_screen_keeps_a_flat_frame_and_a_sharp_edge():
  resize = AreaResize((210, 160), (84, 84))
  np.testing.assert_array_equal(resize(np.full((210, 160), 77, np.uint8)), 77)
  # Rows 0..104 black, 105.. white: 210 / 84 = 2.5 rows per output row, so output rows
  # 0..41 are black, row 42 covers rows 105..107.5 (white), and so on.
  frame = np.zeros((210, 160), np.uint8)
  frame[105:] = 255
  out = resize(frame)
  assert (out[:42] == 0).all() and (out[42:] == 255).all()
  # An edge inside an output row's span averages: output row 41 covers rows [102.5, 105),
  # of which [104, 105) is white: 1 of 2.5 rows.
  frame = np.zeros((210, 160), np.uint8)
  frame[104:] = 250
  assert resize(frame)[41, 0] == round(250 * (105 - 104) / 2.5)


def test_frame_stack_starts_from_zeros_and_keeps_the_newest_last():
  stack = FrameStack((2, 2), depth=3)
  first = stack.reset(np.full((2, 2), 1, np.uint8))
  assert first.shape == (3, 2, 2) and first[:, 0, 0].tolist() == [0, 0, 1]
  stack.push(np.full((2, 2), 2, np.uint8))
  third = stack.push(np.full((2, 2), 3, np.uint8))
  assert third[:, 1, 1].tolist() == [1, 2, 3]
  fourth = stack.push(np.full((2, 2), 4, np.uint8))
  assert fourth[:, 0, 1].tolist() == [2, 3, 4] and third[:, 0, 0].tolist() == [1, 2, 3]  # copies
  assert stack.reset(np.full((2, 2), 9, np.uint8))[:, 0, 0].tolist() == [0, 0, 9]


def test_frame_stack_depth_must_be_positive():
  with pytest.raises(ValueError, match="frame_stack must be >= 1"):
    FrameStack((2, 2), depth=0)
