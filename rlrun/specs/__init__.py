"""Specs: what arrays and tensors look like (shape, dtype, bounds).

`rlrun.specs.array_spec` is numpy only; `rlrun.specs.tensor_spec` imports TensorFlow.
"""

from rlrun.specs.array_spec import ArraySpec, BoundedArraySpec  # noqa: F401
