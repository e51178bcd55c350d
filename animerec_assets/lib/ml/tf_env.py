"""Import TensorFlow and TFRS the one way that works here (Keras 2 via tf-keras).

TFRS 0.7.7 needs ``TF_USE_LEGACY_KERAS=1`` set before TensorFlow is first imported. Calling
:func:`import_tf` inside the functions that need it keeps TensorFlow out of module import time,
so the Dagster code location and the CLI load fast.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType


class TensorFlowSetupError(RuntimeError):
    """TensorFlow was imported before TF_USE_LEGACY_KERAS=1 was set, so TFRS cannot work."""


def import_tf() -> tuple[ModuleType, ModuleType]:
    """Return ``(tensorflow, tensorflow_recommenders)`` with legacy Keras enabled."""
    if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        raise TensorFlowSetupError(
            "TensorFlow was imported before TF_USE_LEGACY_KERAS=1 was set; set it first"
        )
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import tensorflow_recommenders as tfrs

    return tf, tfrs


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow so a training run repeats."""
    tf, _ = import_tf()
    tf.keras.utils.set_random_seed(seed)
