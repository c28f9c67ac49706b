"""Reading finished and running run directories: results, statistics over seeds, plots.

Nothing here imports TensorFlow: `rlrun plot` and `rlrun runs` start in about a second.
"""
