"""Policies: numpy PyPolicies, TensorFlow TFPolicies, conversions and saved policies."""
