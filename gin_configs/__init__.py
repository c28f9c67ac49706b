"""The gin configs shipped with rlrun (installed as the package `rlrun.gin_configs`)."""
