"""Agents: TFAgent and the DQN and SAC learners."""
