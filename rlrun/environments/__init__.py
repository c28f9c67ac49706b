"""Environments: numpy PyEnvironments, gym loading and wrappers, and the TF adapter."""
