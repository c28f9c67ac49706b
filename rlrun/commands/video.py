"""`rlrun record-video`: film a saved policy's episodes to MP4 (or GIF)."""

import os
import sys
from pathlib import Path
from typing import Optional, TextIO

import numpy as np

from rlrun.commands import policy_loading
from rlrun.commands.output_files import refuse_run_state, remove_empty
from rlrun.errors import UserError
from rlrun.run_dir import RunDirectory


def _even(frame: np.ndarray) -> np.ndarray:
  """Pads to even height/width (H.264 needs them) without rescaling."""
  h, w = frame.shape[:2]
  return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _frame(env) -> np.ndarray:
  """The environment's current picture, H.264-ready.

  Raises:
    UserError: when the environment cannot render RGB frames.
  """
  try:
    frame = env.render("rgb_array")
  except Exception as e:  # pylint: disable=broad-except  # each env library has its own errors
    text = str(e).strip().splitlines()
    raise UserError(f"cannot film the environment: {type(e).__name__}"
                    f"{': ' + text[0] if text else ''}") from e
  if not isinstance(frame, np.ndarray) or frame.ndim != 3:
    raise UserError(f"cannot film the environment: its render('rgb_array') returned "
                    f"{type(frame).__name__}, not an [height, width, 3] image; make the "
                    "environment render RGB arrays")
  return _even(frame)


def record_video(root_dir: Optional[str], episodes: int, output: Optional[str], fps: int,
                 policy: Optional[str] = None, seed: int = 12345,
                 out: Optional[TextIO] = None, use_run_config: bool = False,
                 step: Optional[str] = None) -> int:
  out = sys.stdout if out is None else out
  if episodes < 1 or fps < 1:
    raise UserError(f"--episodes and --fps must be >= 1, got {episodes} and {fps}")
  path = policy_loading.policy_path(root_dir, policy, step=step)
  loaded = policy_loading.load_policy(path, batch_time_steps=True)
  make_env, _ = policy_loading.env_factory(root_dir, loaded, use_run_config)
  if output is None:
    if not root_dir:
      raise UserError("pass --output FILE (or --root-dir to write into its videos/)")
    output = str(RunDirectory(root_dir).path("videos", f"policy-step{loaded.get_train_step()}.mp4"))
  target = Path(output)
  if target.is_dir():
    raise UserError(f"--output {output} is a directory; pass a file name such as "
                    f"{target / 'clip.mp4'}")
  if target.suffix.lower() not in (".mp4", ".gif"):
    raise UserError(f"--output {output}: use a .mp4 or .gif file name")
  refuse_run_state("--output", output, target)
  import imageio
  env = policy_loading.checked_env(make_env, seed, loaded)
  # Frames go to a partial file beside the target, renamed when complete: an interrupted
  # or failed recording never leaves a truncated video under the requested name.
  partial = target.with_name(f".{target.stem}.partial{target.suffix}")
  created = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
  try:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial.touch()
  except OSError as e:
    env.close()
    remove_empty(created)
    raise UserError(f"cannot write --output {output}: {e.strerror or e}; choose a writable "
                    "place") from e
  kwargs = {"fps": fps, "macro_block_size": 1} if target.suffix.lower() == ".mp4" else {
      "duration": 1000 / fps, "loop": 0}
  frames = 0
  try:
    # Closed explicitly: imageio's context manager leaves the writer (and ffmpeg, still
    # writing the partial file) open when an exception leaves it.
    writer = imageio.get_writer(str(partial), **kwargs)
    try:
      for _ in range(episodes):
        time_step = env.reset()
        state = loaded.get_initial_state()
        writer.append_data(_frame(env))
        while not time_step.is_last():
          step = loaded.action(time_step, state)
          time_step, state = env.step(step.action), step.state
          writer.append_data(_frame(env))
          frames += 1
    finally:
      writer.close()
    os.replace(partial, target)
  except OSError as e:
    raise UserError(f"cannot write --output {output}: {e.strerror or e}; free some space or "
                    "choose another place") from e
  finally:
    env.close()
    partial.unlink(missing_ok=True)
    if not target.exists():
      remove_empty(created)
  out.write(f"{target} ({episodes} episodes, {frames} frames at {fps} fps)\n")
  return 0
