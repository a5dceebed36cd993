"""d2lutils: the small helper package of the book (``import d2lutils as d2l``).

Modules: :mod:`~d2lutils.config` (quick/full mode), :mod:`~d2lutils.device`,
:mod:`~d2lutils.data` (registry, downloads, data-set loaders),
:mod:`~d2lutils.loaders` (device-resident minibatches), :mod:`~d2lutils.plot`,
:mod:`~d2lutils.train`, :mod:`~d2lutils.widgets` and :mod:`~d2lutils.book`
(executing the notebooks). The names below are re-exported for convenience.
"""

from . import config
from .device import Timer, cpu, device_name, synchronize, try_all_gpus, try_gpu
from .loaders import TensorLoader, load_array
from .plot import Animator, plot, set_axes, set_figsize, show_heatmaps, show_images, use_svg_display
from .train import Accumulator, TrainResult, accuracy, evaluate_accuracy, train_classifier
from .widgets import interact

__version__ = "0.1.0"

__all__ = [
    "config", "Timer", "cpu", "device_name", "synchronize", "try_all_gpus", "try_gpu",
    "TensorLoader", "load_array",
    "Animator", "plot", "set_axes", "set_figsize", "show_heatmaps", "show_images", "use_svg_display",
    "Accumulator", "TrainResult", "accuracy", "evaluate_accuracy", "train_classifier",
    "interact",
]
