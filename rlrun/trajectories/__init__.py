"""Time steps, policy steps and trajectories: the data that flows between components."""

from rlrun.trajectories.policy_step import PolicyStep  # noqa: F401
from rlrun.trajectories.time_step import (StepType, TimeStep, restart, termination,  # noqa: F401
                                          time_step_spec, transition, truncation)
from rlrun.trajectories.trajectory import (Trajectory, Transition, from_transition,  # noqa: F401
                                           to_transition)
