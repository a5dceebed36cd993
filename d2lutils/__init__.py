"""d2lutils: the small helper package of the book (``import d2lutils as d2l``).

Modules: :mod:`~d2lutils.config` (quick/full mode), :mod:`~d2lutils.device`,
:mod:`~d2lutils.data` (registry, data-set loaders), :mod:`~d2lutils.fetch`
(verified, bounded downloads and extraction),
:mod:`~d2lutils.loaders` (device-resident minibatches), :mod:`~d2lutils.plot`,
:mod:`~d2lutils.diagrams` (architecture and computation diagrams),
:mod:`~d2lutils.models` (the classic CNNs at true size, :func:`model_cost`),
:mod:`~d2lutils.text` (tokenizers, :class:`~d2lutils.text.Vocab`, sequence minibatches),
:mod:`~d2lutils.rnn` (recurrent language models: :func:`~d2lutils.rnn.train_lm`, perplexity, generation),
:mod:`~d2lutils.seq2seq` (masked loss, :func:`~d2lutils.seq2seq.train_seq2seq`, BLEU),
:mod:`~d2lutils.embeddings` (co-occurrence counts, PPMI, SVD, similar words, analogies),
:mod:`~d2lutils.generative` (the Fréchet distance and the book's feature network),
:mod:`~d2lutils.train`, :mod:`~d2lutils.widgets` and :mod:`~d2lutils.book`
(executing the notebooks). The names below are re-exported for convenience.
"""

from . import config, diagrams, embeddings, generative, models, nn, rnn, seq2seq, text
from .data import (
    DATASETS,
    FASHION_MNIST_LABELS,
    DownloadError,
    data_dir,
    download,
    download_extract,
    extract,
    fashion_mnist_labels,
    load_airfoil,
    load_fashion_mnist,
    load_kaggle_house,
    load_mnist,
    read_date,
    read_fashion_mnist,
    read_idx,
    read_jaychou_lyrics,
    read_mnist,
    read_ptb,
    read_sentiment,
    read_timemachine,
    read_translation,
)
from .device import Timer, approx, cpu, device_name, synchronize, try_all_gpus, try_gpu
from .embeddings import analogy, context_pairs, cooccurrence, cosine_similarities, most_similar, ppmi, truncated_svd
from .generative import FashionNet, fashion_classifier, fashion_fid, frechet_distance
from .loaders import TensorLoader, load_array
from .models import ModelCost, model_cost
from .nn import (
    AdditiveAttention,
    AddNorm,
    DotProductAttention,
    MultiHeadAttention,
    PositionalEncoding,
    PositionWiseFFN,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
    causal_lens,
    masked_softmax,
)
from .optim import FitResult, Optimizer, fit_regression, run_2d, show_trace_2d
from .plot import Animator, plot, set_axes, set_figsize, show_heatmaps, show_images, use_svg_display
from .rnn import RNNLM, LMResult, grad_clipping, perplexity, predict, train_lm
from .seq2seq import Seq2SeqResult, bleu, masked_cross_entropy, train_seq2seq
from .text import (
    Vocab,
    char_corpus,
    seq_data_iter_random,
    seq_data_iter_sequential,
    sequence_mask,
    tokenize,
    truncate_pad,
)
from .train import Accumulator, TrainResult, accuracy, cpu_has_bf16, evaluate_accuracy, train_classifier
from .widgets import interact

__version__ = "0.1.0"

# Line plots of the book are SVG: crisp on the site and small in the stored notebooks.
use_svg_display()

# Quick mode says so once, here: on its own line, before any label a notebook prints.
if config.QUICK:
    config.announce()

__all__ = [
    "config", "diagrams", "embeddings", "generative", "FashionNet", "fashion_classifier", "fashion_fid",
    "frechet_distance", "models", "nn", "ModelCost", "model_cost", "rnn", "seq2seq", "text",
    "RNNLM", "LMResult", "grad_clipping", "perplexity", "predict", "train_lm",
    "analogy", "context_pairs", "cooccurrence", "cosine_similarities", "most_similar", "ppmi", "truncated_svd",
    "Seq2SeqResult", "bleu", "masked_cross_entropy", "train_seq2seq",
    "masked_softmax", "AdditiveAttention", "DotProductAttention", "MultiHeadAttention", "PositionalEncoding",
    "PositionWiseFFN", "AddNorm", "causal_lens", "TransformerEncoderBlock", "TransformerDecoderBlock",
    "Vocab", "char_corpus", "seq_data_iter_random", "seq_data_iter_sequential", "sequence_mask", "tokenize",
    "truncate_pad",
    "Timer", "approx", "cpu", "device_name", "synchronize", "try_all_gpus", "try_gpu",
    "DATASETS", "FASHION_MNIST_LABELS", "DownloadError", "data_dir", "download", "download_extract", "extract",
    "fashion_mnist_labels", "load_airfoil", "load_fashion_mnist", "load_kaggle_house", "load_mnist",
    "read_fashion_mnist", "read_idx", "read_jaychou_lyrics", "read_mnist", "read_ptb", "read_timemachine",
    "read_translation",
    "read_sentiment",
    "read_date",
    "FitResult", "Optimizer", "fit_regression", "run_2d", "show_trace_2d",
    "TensorLoader", "load_array",
    "Animator", "plot", "set_axes", "set_figsize", "show_heatmaps", "show_images", "use_svg_display",
    "Accumulator", "TrainResult", "accuracy", "cpu_has_bf16", "evaluate_accuracy", "train_classifier",
    "interact",
]
