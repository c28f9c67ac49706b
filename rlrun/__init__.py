"""rlrun: a gin-configured reinforcement-learning experiment runner.

Importing the top-level package is cheap; TensorFlow is imported by the submodules
that need it.
"""

__version__ = "0.1.0"
