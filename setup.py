"""Install rlrun with its pinned, tested dependency set."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "rlrun" / "__init__.py").read_text()).group(1)

# One working set: reverb 0.14 is built against TF 2.15; moving one means moving both.
INSTALL_REQUIRES = [
    "tensorflow-cpu==2.15.1",
    "tensorflow-probability==0.23.0",
    "dm-reverb==0.14.0",
    "dm-tree==0.1.10",
    "gin-config==0.5.0",
    "gym==0.23.1",
    # Gymnasium 1.x environments (suite_gymnasium) beside gym 0.23 (the seeds' suite).
    "gymnasium==1.4.0",
    "pybullet==3.2.7",
    "pygame==2.6.1",
    "cloudpickle==3.1.2",
    "click==8.5.1",
    "tensorboard==2.15.2",
    "imageio==2.38.1",
    "imageio-ffmpeg==0.8.1",
    "matplotlib==3.11.2",
    "numpy==1.26.4",
    "tqdm==4.67.1",
    # numpy's BLAS held to one thread while collecting (rlrun/utils/blas_threads.py).
    "threadpoolctl==3.6.0",
]

TUNE_REQUIRES = ["optuna==5.0.0", "sqlalchemy==2.1.9", "alembic==1.20.1"]
# suite_atari: the Arcade Learning Environment; its wheels ship the ROMs.
ATARI_REQUIRES = ["ale-py==0.12.1"]
# `rlrun train --actors N --ray ADDRESS`: the newest Ray that installs beside the pinned
# TensorFlow 2.15 / Reverb 0.14 set (protobuf < 5, numpy 1.26); Ray's dependencies as resolved
# beside it.
RAY_REQUIRES = ["ray==2.60.0"]
# `rlrun export`: the converters (tf2onnx; TFLite's is TensorFlow's own) and the runtimes that
# check the file without TensorFlow. Newer onnx/onnxruntime need numpy 2 or protobuf 5+,
# which TensorFlow 2.15 refuses; these are the newest that install beside the pinned set.
EXPORT_REQUIRES = ["tf2onnx==1.17.0", "onnx==1.17.0", "onnxruntime==1.20.1",
                   "tflite-runtime==2.14.0"]

setup(
    name="rlrun",
    version=VERSION,
    description="A gin-configured reinforcement-learning experiment runner (DQN, SAC) on TF2 and Reverb.",
    long_description=(HERE / "README.md").read_text() if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.9,<3.12",
    # gin_configs/ sits at the top of the repo and installs as rlrun.gin_configs.
    packages=find_packages(include=["rlrun", "rlrun.*"]) + ["rlrun.gin_configs"],
    package_dir={"rlrun.gin_configs": "gin_configs"},
    package_data={"rlrun.gin_configs": ["*.gin"]},
    install_requires=INSTALL_REQUIRES,
    extras_require={
        # `rlrun tune`: Optuna and its storage (SQLite here; an RDB URL for shared studies).
        "tune": TUNE_REQUIRES,
        "atari": ATARI_REQUIRES,
        "ray": RAY_REQUIRES,
        "export": EXPORT_REQUIRES,
        # pytest-xdist: the suite runs one test file per CPU core (pytest.ini).
        "test": (["pytest==9.2.0", "pytest-xdist==3.8.0", "execnet==2.1.2"] + TUNE_REQUIRES + ATARI_REQUIRES + RAY_REQUIRES
                 + EXPORT_REQUIRES),
    },
    entry_points={"console_scripts": ["rlrun=rlrun.cli:main"]},
)
