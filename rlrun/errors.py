"""UserError: a mistake the user can fix; the CLI prints it as one line and exits 2."""


class UserError(Exception):
  """A problem with the user's input (config, flags, run directory), with the fix."""
