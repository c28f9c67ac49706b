"""PolicyStep: what a policy returns for a time step."""

from typing import Any, NamedTuple

from rlrun.trajectories._nest_repr import nest_repr


class PolicyStep(NamedTuple):
  """The action, the policy's next state (() when stateless), and extra info."""
  action: Any = ()
  state: Any = ()
  info: Any = ()

  def __repr__(self) -> str:
    return f"PolicyStep(action={self.action!r}, state={self.state!r}, info={self.info!r})"


__all__ = ["PolicyStep", "nest_repr"]
