"""suite_atari: the Machado et al. protocol on a scripted emulator (frame skip, max-pool,
sticky actions, termination, life loss) and on real ale-py games (specs, seeding, limits)."""

import sys

import numpy as np
import pytest

from rlrun.environments import suite_atari, wrappers
from rlrun.environments.atari_preprocessing import AreaResize
from rlrun.trajectories.time_step import StepType


class ScriptedEmulator:
  """Stands in for ale_py.ALEInterface: frame k's screen is all k (mod 256) except a bright
  square whose corner moves every frame; every frame rewards 1; the game is over after
  `game_frames` frames; a life is lost every `life_frames` frames."""

  def __init__(self, game_frames=1000, life_frames=None, lives=3):
    self.game_frames, self.life_frames, self.start_lives = game_frames, life_frames, lives
    self.applied = []
    self.reset_game()

  def reset_game(self):
    self.frame = 0

  def act(self, action):
    self.applied.append(action)
    self.frame += 1
    return 1

  def lives(self):
    if self.life_frames is None:
      return self.start_lives
    return self.start_lives - self.frame // self.life_frames

  def game_over(self, with_truncation=True):
    return self.frame >= self.game_frames

  def getScreenGrayscale(self, out):  # pylint: disable=invalid-name
    out.fill(self.frame % 256)
    row = (self.frame * 10) % 200
    out[row:row + 10, :10] = 255

  def getScreenRGB(self):  # pylint: disable=invalid-name
    return np.zeros((210, 160, 3), np.uint8)


def scripted(sticky=0.0, frame_skip=4, **emulator):
  env = suite_atari.AtariEnv("Pong", sticky_action_probability=sticky, frame_skip=frame_skip,
                             terminal_on_life_loss=emulator.pop("life_loss", False))
  env._ale = ScriptedEmulator(**emulator)  # pylint: disable=protected-access
  env.seed(0)  # seeds the sticky actions' generator (see _no_rom_reload)
  return env


@pytest.fixture(autouse=True)
def _no_rom_reload(monkeypatch):
  """Seeding reloads the ROM on the real emulator; the scripted one has none."""
  original = suite_atari.AtariEnv._load  # pylint: disable=protected-access

  def load(self, seed):
    if isinstance(self._ale, ScriptedEmulator):  # pylint: disable=protected-access
      self._rng = np.random.default_rng([int(seed), 0xA7A81])  # pylint: disable=protected-access
      return None
    return original(self, seed)
  monkeypatch.setattr(suite_atari.AtariEnv, "_load", load)


def test_a_step_is_four_frames_summed_and_the_last_two_max_pooled():
  env = scripted()
  first = env.reset()
  assert first.step_type == StepType.FIRST and first.observation.shape == (4, 84, 84)
  assert first.observation[:3].max() == 0  # zeros before the episode's first frame
  step = env.step(np.int64(2))
  assert step.reward == 4.0 and step.discount == 1.0 and env._ale.frame == 4
  screens = []
  for frame in (3, 4):
    screen = np.zeros((210, 160), np.uint8)
    env._ale.frame = frame
    env._ale.getScreenGrayscale(screen)
    screens.append(screen)
  pooled = np.maximum(*screens)
  assert pooled[30:50, :10].min() == 255  # both squares survive the max
  np.testing.assert_array_equal(step.observation[-1], AreaResize((210, 160), (84, 84))(pooled))
  np.testing.assert_array_equal(step.observation[-2], first.observation[-1])


def test_the_game_ending_is_a_termination_and_a_lost_life_only_when_asked():
  env = scripted(game_frames=10)
  env.reset()
  steps = [env.step(np.int64(0)) for _ in range(3)]
  assert [s.step_type for s in steps] == [StepType.MID, StepType.MID, StepType.LAST]
  assert steps[-1].discount == 0.0 and steps[-1].reward == 2.0  # frames 9 and 10

  keeps_going = scripted(life_frames=6)
  keeps_going.reset()
  steps = [keeps_going.step(np.int64(0)) for _ in range(5)]
  assert all(s.step_type == StepType.MID and s.discount == 1.0 for s in steps)
  # With terminal_on_life_loss a lost life is a discount-0 step of the same game: the
  # emulator is not reset and the episode goes on to game over.
  cut = scripted(life_frames=6, life_loss=True, game_frames=20)
  cut.reset()
  steps = [cut.step(np.int64(0)) for _ in range(5)]
  assert [s.discount for s in steps] == [1.0, 0.0, 0.0, 1.0, 0.0]  # lives lost at 6, 12, 18
  assert [s.step_type for s in steps] == [StepType.MID] * 4 + [StepType.LAST]
  assert cut._ale.frame == 20 and sum(s.reward for s in steps) == 20.0


def test_sticky_actions_repeat_the_previous_frames_action_at_the_configured_rate():
  env = scripted(sticky=0.25, game_frames=10**9)
  env.reset()
  rng = np.random.default_rng(1)
  chosen = []
  for _ in range(5000):
    action = int(rng.integers(0, 6))
    chosen += [env._actions[action]] * 4  # pylint: disable=protected-access
    env.step(np.int64(action))
  applied = env._ale.applied
  changed = [i for i in range(1, len(applied)) if chosen[i] != chosen[i - 1]]
  # Where the agent changed its action, a frame kept the old one with probability 0.25
  # (and then also for the following frames of the step, each with 0.25 more).
  kept = np.mean([applied[i] != chosen[i] for i in changed])
  assert 0.23 < kept < 0.27, kept
  # The same seed draws the same sticks; another seed draws others.
  replay = scripted(sticky=0.25, game_frames=10**9)
  replay.reset()
  rng = np.random.default_rng(1)
  for _ in range(5000):
    replay.step(np.int64(int(rng.integers(0, 6))))
  assert replay._ale.applied == applied


def test_one_frame_per_step_shows_the_new_frame():
  env = scripted(frame_skip=1)
  env.reset()
  for frame in (1, 2):
    step = env.step(np.int64(0))
    screen = np.zeros((210, 160), np.uint8)
    env._ale.getScreenGrayscale(screen)  # the emulator's current (frame `frame`) screen
    np.testing.assert_array_equal(step.observation[-1], AreaResize((210, 160), (84, 84))(screen))


def test_no_sticky_actions_apply_every_action_at_once():
  env = scripted(sticky=0.0)
  env.reset()
  for action in (1, 2, 3):
    env.step(np.int64(action))
  actions = env._actions  # pylint: disable=protected-access
  assert env._ale.applied == [actions[1]] * 4 + [actions[2]] * 4 + [actions[3]] * 4


# ---- the real emulator ------------------------------------------------------------------


def test_pong_specs_limit_and_render():
  env = suite_atari.load("Pong", max_episode_steps=5)
  assert isinstance(env, wrappers.TimeLimit) and env.game == "Pong"
  spec = env.observation_spec()
  assert spec.shape == (4, 84, 84) and spec.dtype == np.uint8
  assert env.action_spec().maximum == 5  # Pong's minimal set: 6 actions
  assert suite_atari.load("Pong", full_action_space=True).action_spec().maximum == 17
  assert suite_atari.load("Breakout").duration == 27000  # 108k frames / 4
  env.reset()
  steps = [env.step(np.int64(0)) for _ in range(5)]
  assert steps[-1].step_type == StepType.LAST and steps[-1].discount == 1.0  # a truncation
  assert env.render().shape == (210, 160, 3)


def test_the_same_seed_plays_the_same_game():
  def play(seed):
    env = suite_atari.load("Breakout")
    env.seed(seed)
    env.reset()
    rng = np.random.default_rng(0)
    return np.stack([env.step(np.int64(rng.integers(0, 4))).observation[-1]
                     for _ in range(150)])
  first = play(5)
  np.testing.assert_array_equal(first, play(5))
  assert not np.array_equal(first, play(6))


@pytest.mark.parametrize("game,name", [("SpaceInvaders", "SpaceInvaders"),
                                       ("space_invaders", "SpaceInvaders"),
                                       ("ALE/Breakout-v5", "Breakout")])
def test_game_names_in_every_spelling(game, name):
  assert suite_atari.AtariEnv(game).game == name


def test_an_unknown_game_lists_close_matches():
  with pytest.raises(ValueError, match=r"unknown Atari game 'Pongg'; close matches: Pong"):
    suite_atari.AtariEnv("Pongg")


def test_without_ale_py_the_message_gives_the_pip_command(monkeypatch):
  monkeypatch.setitem(sys.modules, "ale_py", None)
  with pytest.raises(ValueError, match=r"pip install 'rlrun\[atari\]'"):
    suite_atari.load("Pong")
