"""suite_atari: Atari 2600 games from pixels on ale-py, with the protocol of Machado et al. (2018).

Sticky actions (each frame repeats the previous frame's action with probability 0.25,
drawn from the env's seeded generator; a reset starts from NOOP), 4 frames
per agent step with the reward summed and the last two frames max-pooled, 84x84
grayscale by area averaging, the last 4 of those stacked (zeros before the episode's
first), at most 108k frames (27k agent steps) per episode as a truncation, the minimal
action set unless `full_action_space`; with `terminal_on_life_loss`, a lost life is a
discount-0 step (learning does not bootstrap across it) inside an episode that goes on to
game over, so returns, in training and evaluation alike, are whole games. Observations are uint8 [4, 84, 84], oldest frame first;
networks transpose, cast and scale them (networks.QNetwork.channels_first, input_scale).
"""

import difflib
import re
from typing import Optional

import gin
import numpy as np

from rlrun.environments import py_environment, wrappers
from rlrun.environments.atari_preprocessing import AreaResize, FrameStack
from rlrun.specs import array_spec
from rlrun.trajectories import time_step as ts

PIP_INSTALL = "pip install 'rlrun[atari]' (ale-py==0.12.1, whose wheels ship the ROMs)"


def import_ale():
  """ale_py with its logging limited to errors, or a ValueError saying how to install it."""
  try:
    import ale_py  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise ValueError(f"Atari games need the ale-py package: {PIP_INSTALL}") from None
  ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
  return ale_py


def rom_id(game: str) -> str:
  """'SpaceInvaders' / 'space_invaders' / 'ALE/SpaceInvaders-v5' -> 'space_invaders'."""
  name = game.split("/")[-1]
  name = re.sub(r"(NoFrameskip)?-v\d+$", "", name)
  return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def game_name(rom: str) -> str:
  return "".join(part.capitalize() for part in rom.split("_"))


def rom_path(ale_py, game: str) -> str:
  """The ROM file of `game`.

  Raises:
    ValueError: for an unknown game, with the close matches.
  """
  if not isinstance(game, str) or not game:
    raise ValueError(f"suite_atari.load needs a game name like 'Pong', got {game!r}")
  known = ale_py.roms.get_all_rom_ids()
  rom = rom_id(game)
  if rom in known:
    return ale_py.roms.get_rom_path(rom)
  close = difflib.get_close_matches(rom, known, 5, 0.6)
  listed = ", ".join(game_name(r) for r in (close or known[:5]))
  raise ValueError(f"unknown Atari game {game!r}; {'close matches' if close else 'games include'}: "
                   f"{listed} (all {len(known)}: ale_py.roms.get_all_rom_ids())")


class AtariEnv(py_environment.PyEnvironment):
  """One Atari game as a PyEnvironment (see the module docstring for the protocol).

  Args:
    game: the game, e.g. 'Pong' or 'space_invaders'.
    sticky_action_probability: the chance that a frame repeats the previous action.
    frame_skip: emulator frames per agent step (the last two are max-pooled).
    screen_size: the side of the square grayscale observation.
    frame_stack: observations are the last `frame_stack` preprocessed frames.
    full_action_space: all 18 actions instead of the game's minimal set.
    terminal_on_life_loss: a lost life gives discount 0 (not the end of the episode).
  """

  def __init__(self, game: str, sticky_action_probability: float = 0.25, frame_skip: int = 4,
               screen_size: int = 84, frame_stack: int = 4, full_action_space: bool = False,
               terminal_on_life_loss: bool = False):
    super().__init__()
    if frame_skip < 1 or screen_size < 1:
      raise ValueError(f"frame_skip and screen_size must be >= 1, got {frame_skip}, {screen_size}")
    if not 0.0 <= sticky_action_probability <= 1.0:
      raise ValueError(f"sticky_action_probability must be in [0, 1], got "
                       f"{sticky_action_probability}")
    ale_py = import_ale()
    self._rom = rom_path(ale_py, game)
    self._ale = ale_py.ALEInterface()
    # Sticky actions, frame skipping and pooling are done here, in numpy.
    self._ale.setFloat("repeat_action_probability", 0.0)
    self._ale.setInt("frame_skip", 1)
    self._sticky = float(sticky_action_probability)
    self._noop = ale_py.Action.NOOP
    self._previous = self._noop
    self._load(seed=0)
    actions = self._ale.getLegalActionSet() if full_action_space else \
        self._ale.getMinimalActionSet()
    self._actions = list(actions)
    self._frame_skip = frame_skip
    self._terminal_on_life_loss = terminal_on_life_loss
    height, width = self._ale.getScreenDims()
    self._screens = np.zeros((2, height, width), np.uint8)
    self._resize = AreaResize((height, width), (screen_size, screen_size))
    self._stack = FrameStack((screen_size, screen_size), frame_stack)
    self._observation_spec = array_spec.BoundedArraySpec(
        (frame_stack, screen_size, screen_size), np.uint8, 0, 255, name="observation")
    self._action_spec = array_spec.BoundedArraySpec((), np.int64, 0, len(self._actions) - 1,
                                                    name="action")
    self._lives = 0
    self.game = game_name(rom_id(game))

  def _load(self, seed: int) -> None:
    self._rng = np.random.default_rng([int(seed), 0xA7A81])
    self._ale.setInt("random_seed", int(seed) % (2**31 - 1))
    self._ale.loadROM(self._rom)  # the seed takes effect when the ROM is loaded

  def observation_spec(self):
    return self._observation_spec

  def action_spec(self):
    return self._action_spec

  @property
  def num_actions(self) -> int:
    return len(self._actions)

  def seed(self, seed: Optional[int]) -> None:
    """Reloads the game with `seed` (sticky actions then draw the same); the next step resets."""
    self._load(0 if seed is None else seed)
    self._current_time_step = None

  def _frame(self) -> np.ndarray:
    return self._resize(np.maximum(self._screens[0], self._screens[1]))

  def _reset(self) -> ts.TimeStep:
    self._ale.reset_game()
    self._previous = self._noop
    self._lives = self._ale.lives()
    self._ale.getScreenGrayscale(self._screens[0])
    self._screens[1].fill(0)
    return ts.restart(self._stack.reset(self._frame()))

  def _step(self, action) -> ts.TimeStep:
    ale_action = self._actions[int(action)]
    reward, terminal, life_lost = 0.0, False, False
    sticks = self._rng.random(self._frame_skip) < self._sticky
    for i in range(self._frame_skip):
      if not sticks[i]:
        self._previous = ale_action
      reward += self._ale.act(self._previous)
      lives = self._ale.lives()
      lost_life, self._lives = lives < self._lives, lives
      terminal = self._ale.game_over(with_truncation=False)
      life_lost = life_lost or lost_life
      if terminal:
        break
      if i >= self._frame_skip - 2:
        self._ale.getScreenGrayscale(self._screens[i - (self._frame_skip - 2)])
    if self._frame_skip == 1:  # the one frame went to _screens[1]: nothing to pool with
      self._screens[0] = self._screens[1]
    observation = self._stack.push(self._frame())
    reward = np.asarray(reward, np.float32)
    if terminal:
      return ts.termination(observation, reward)
    if self._terminal_on_life_loss and life_lost:
      # Terminal for learning (nothing bootstraps across it), not the end of the game:
      # the episode, and the return evaluation reports, go on to game over.
      return ts.transition(observation, reward, np.float32(0.0))
    return ts.transition(observation, reward, np.float32(1.0))

  def render(self, mode: str = "rgb_array") -> np.ndarray:
    if mode != "rgb_array":
      raise ValueError(f"Atari games render as 'rgb_array' only, not {mode!r}")
    return self._ale.getScreenRGB()


@gin.configurable(module="suite_atari")
def load(game: str, sticky_action_probability: float = 0.25, frame_skip: int = 4,
         screen_size: int = 84, frame_stack: int = 4, full_action_space: bool = False,
         terminal_on_life_loss: bool = False, max_episode_frames: int = 108000,
         max_episode_steps: Optional[int] = None,
         seed: Optional[int] = None) -> py_environment.PyEnvironment:
  """An Atari game as a PyEnvironment, preprocessed as in Machado et al. (2018).

  Args:
    game: e.g. 'Pong', 'Breakout', 'SpaceInvaders' (or ale-py's 'space_invaders').
    sticky_action_probability: the chance each frame repeats the previous action.
    frame_skip: emulator frames per agent step.
    screen_size: observations are screen_size x screen_size grayscale.
    frame_stack: frames per observation (its first axis).
    full_action_space: the 18 actions rather than the game's minimal set.
    terminal_on_life_loss: a lost life is terminal for learning (discount 0); the
      episode goes on to game over.
    max_episode_frames: the episode limit in emulator frames (a truncation).
    max_episode_steps: the limit in agent steps instead (None: max_episode_frames /
      frame_skip, rounded up; 0: none of the suite's own).
    seed: when given, seeds the game and its sticky actions (else env.seed() does).

  Raises:
    ValueError: for an unknown game (with close matches), ale-py missing (the pip
      command) or a bad setting.
  """
  env = AtariEnv(game, sticky_action_probability, frame_skip, screen_size, frame_stack,
                 full_action_space, terminal_on_life_loss)
  if seed is not None:
    env.seed(seed)
  if max_episode_steps is None:
    max_episode_steps = -(-max_episode_frames // frame_skip)
  if max_episode_steps < 0:
    raise ValueError(f"max_episode_steps must be >= 0, got {max_episode_steps}")
  return wrappers.TimeLimit(env, max_episode_steps) if max_episode_steps else env
