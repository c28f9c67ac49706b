"""Builders: per algorithm, everything the algorithm-agnostic runner needs to train it.

See `builder.Builder` for the contract and README "Adding an agent" for the recipe.
"""
