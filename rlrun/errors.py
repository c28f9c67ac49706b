"""UserError: a mistake the user can fix; the CLI prints it as one line and exits 2."""

from typing import Sequence


class UserError(Exception):
  """A problem with the user's input (config, flags, run directory), with the fix.

  `more`: further problems found at the same time, a line each after this one.
  """

  def __init__(self, message: str, more: Sequence[str] = ()):
    super().__init__(message)
    self.more = list(more)


def bad_config(error: Exception) -> UserError:
  """A config the settings or the build refused: every problem the error lists (a
  SettingsProblems lists each bad setting), as 'bad config: ...' lines."""
  from rlrun import configs
  problems = getattr(error, "problems", None)
  if problems:
    return UserError(f"bad config: {problems[0]}", [f"bad config: {p}" for p in problems[1:]])
  return UserError(f"bad config: {configs.describe_error(error)}")
