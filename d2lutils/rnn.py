"""Recurrent language models (chapters 9 and 10): a model wrapper, gradient clipping, perplexity,
a training loop and text generation.

Section 9.5 builds each piece from scratch in its notebook and checks it against this module;
section 9.6 uses :class:`RNNLM` with ``nn.RNN``, and chapter 10 the same wrapper with ``nn.GRU`` and
``nn.LSTM``. A language model here is any module with the interface of :class:`RNNLM`:
``net(X, state) -> (logits, state)`` for token indices ``X`` of shape ``(batch, steps)`` and logits of
shape ``(batch, steps, vocab_size)``, and ``net.begin_state(batch_size, device)`` for the first state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import config
from .device import Timer, approx, try_gpu
from .plot import Animator
from .text import Vocab, seq_data_iter_random, seq_data_iter_sequential
from .train import _check_lr, _progress
from .widgets import static_requested

__all__ = ["RNNLM", "LMResult", "grad_clipping", "perplexity", "predict", "train_lm"]

State = torch.Tensor | tuple[torch.Tensor, ...]


class RNNLM(nn.Module):
    """A language model around a recurrent layer: inputs, the layer, and an output layer (section 9.6).

    The tokens enter as one-hot vectors when ``rnn.input_size == vocab_size`` (sections 9.4-9.6), else
    through an ``nn.Embedding(vocab_size, rnn.input_size)`` (section 10.4). The output layer maps each
    hidden state (both directions' for a bidirectional layer) to ``vocab_size`` logits.

    Args:
        rnn: an ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM``, batch-first or not.
        vocab_size: number of tokens.
        dropout: dropout on the recurrent layer's outputs before the output layer.
        tie_weights: share the embedding matrix with the output layer (weight tying, section 10.4); needs an
            embedding as wide as the hidden state.
    """

    def __init__(self, rnn: nn.RNNBase, vocab_size: int, dropout: float = 0.0, tie_weights: bool = False) -> None:
        super().__init__()
        if not isinstance(rnn, nn.RNNBase):
            raise TypeError(f"RNNLM needs an nn.RNN, nn.GRU or nn.LSTM, got {type(rnn).__name__}")
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be positive, got {vocab_size}")
        self.rnn = rnn
        self.vocab_size = vocab_size
        self.num_directions = 2 if rnn.bidirectional else 1
        self.embedding = None if rnn.input_size == vocab_size else nn.Embedding(vocab_size, rnn.input_size)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(self.num_directions * rnn.hidden_size, vocab_size)
        if tie_weights:
            if self.embedding is None or self.output.in_features != rnn.input_size:
                raise ValueError("tie_weights needs an embedding (input_size != vocab_size) as wide as the "
                                 f"output layer's input ({self.output.in_features}), got input_size {rnn.input_size}")
            self.output.weight = self.embedding.weight

    def forward(self, X: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Return the logits, shape ``(batch, steps, vocab_size)``, and the new state, for ``X`` of shape
        ``(batch, steps)``."""
        if X.dim() != 2:
            raise ValueError(f"RNNLM expects token indices of shape (batch, steps), got {tuple(X.shape)}")
        if not self.rnn.batch_first:
            X = X.T                                           # (steps, batch)
        if self.embedding is None:
            inputs = F.one_hot(X, self.vocab_size).to(self.output.weight.dtype)
        else:
            inputs = self.embedding(X)
        Y, state = self.rnn(inputs, state)
        logits = self.output(self.dropout(Y))
        return (logits if self.rnn.batch_first else logits.transpose(0, 1)), state

    def begin_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """Zeros of the layer's state shape ``(layers * directions, batch, hidden)`` (a pair for an LSTM)."""
        shape = (self.num_directions * self.rnn.num_layers, batch_size, self.rnn.hidden_size)
        h = torch.zeros(shape, device=device)
        return (h, torch.zeros_like(h)) if isinstance(self.rnn, nn.LSTM) else h


def _detach(state: Any) -> Any:
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(_detach(s) for s in state)


def grad_clipping(net: nn.Module | Iterable[torch.Tensor], theta: float) -> torch.Tensor:
    """Scale all gradients together so that their global norm is at most ``theta`` (section 9.5).

    ``g <- min(1, theta / ||g||) g``, where ``||g||`` is the Euclidean norm of all gradients stacked into one
    vector; the direction of the update is kept. Computes the same as ``nn.utils.clip_grad_norm_`` but
    without its small ``1e-6`` in the denominator, and never synchronises with the device.

    Returns:
        The global norm before clipping, a 0-dim tensor on the gradients' device.
    """
    if not (isinstance(theta, (int, float)) and theta > 0 and math.isfinite(theta)):
        raise ValueError(f"grad_clipping: theta must be a finite positive number, got {theta!r}")
    params = net.parameters() if isinstance(net, nn.Module) else net
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        raise ValueError("grad_clipping: no parameter has a gradient; call backward() first")
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]))
    scale = torch.clamp(theta / norm, max=1.0)
    for g in grads:
        g.mul_(scale.to(g.dtype))
    return norm


def _cross_entropy_sum(logits: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), Y.reshape(-1), reduction="sum")


def perplexity(net: nn.Module, corpus: Sequence[int] | torch.Tensor, batch_size: int = 16, num_steps: int = 256,
               device: torch.device | str | None = None) -> float:
    """The perplexity ``exp(mean negative log-likelihood)`` of ``net`` on a held-out corpus (section 9.4).

    The corpus is cut into ``batch_size`` contiguous streams that are read ``num_steps`` tokens at a time,
    the state carried from chunk to chunk, so every token but the first of each stream is predicted from
    all tokens of its stream before it.

    Args:
        net: a language model with the interface of :class:`RNNLM`.
        corpus: token indices, one long sequence.
        batch_size: number of streams.
        num_steps: tokens per chunk (bounds the memory, not the context).
        device: where to compute (default: where ``net``'s parameters are).
    """
    dev = torch.device(device) if device is not None else next(net.parameters()).device
    corpus = torch.as_tensor(corpus, dtype=torch.long)
    if corpus.dim() != 1 or len(corpus) < batch_size + 1:
        raise ValueError(f"perplexity needs one sequence of at least batch_size + 1 = {batch_size + 1} tokens, "
                         f"got shape {tuple(corpus.shape)}")
    n = (len(corpus) - 1) // batch_size * batch_size
    Xs = corpus[:n].reshape(batch_size, -1).to(dev)
    Ys = corpus[1:n + 1].reshape(batch_size, -1).to(dev)
    was_training = net.training
    net.eval()
    total = torch.zeros((), device=dev)
    state = net.begin_state(batch_size, dev)
    with torch.no_grad():
        for i in range(0, Xs.shape[1], num_steps):
            logits, state = net(Xs[:, i:i + num_steps], state)
            total += _cross_entropy_sum(logits, Ys[:, i:i + num_steps])
    net.train(was_training)
    return math.exp(float(total) / Ys.numel())


@dataclass
class LMResult:
    """What :func:`train_lm` measured.

    Attributes:
        train_ppl: training perplexity of the last epoch (measured while training).
        valid_ppl: perplexity on the held-out corpus after the last epoch (NaN without one).
        tokens_per_sec: predicted tokens processed per second (training steps only).
        device: the device the model trained on, as a string.
        seconds: total training time in seconds (without evaluation).
        history: per-epoch lists ``train_ppl`` and ``valid_ppl``.
    """

    train_ppl: float
    valid_ppl: float
    tokens_per_sec: float
    device: str
    seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)

    def summary(self) -> str:
        """The one-line report printed at the end of training."""
        valid = "" if math.isnan(self.valid_ppl) else f", held-out perplexity {self.valid_ppl:.2f}"
        return (f"train perplexity {self.train_ppl:.2f}{valid}, "
                f"about {approx(self.tokens_per_sec)} tokens/sec on {self.device}")


def train_lm(
    net: nn.Module,
    corpus: Sequence[int] | torch.Tensor,
    num_epochs: int,
    *,
    batch_size: int = 32,
    num_steps: int = 35,
    lr: float | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    clip: float | None = 1.0,
    valid: Sequence[int] | torch.Tensor | None = None,
    random_iter: bool = False,
    scheduler: Any = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    animate: bool = True,
    progress: bool | None = None,
) -> LMResult:
    """Train a language model with truncated backpropagation through time (sections 9.5 and 9.7).

    Each epoch walks the corpus in minibatches of ``batch_size`` subsequences of ``num_steps`` tokens.
    With sequential partitioning (default) row ``i`` of a minibatch continues row ``i`` of the previous one,
    so the state is carried over and detached (gradients stop at the minibatch boundary); with
    ``random_iter=True`` the subsequences are unrelated and every minibatch starts from a zero state.
    The loss is the mean cross-entropy per predicted token; the gradients are clipped to global norm
    ``clip`` before each update.

    Args:
        net: a language model with the interface of :class:`RNNLM`; it is moved to ``device``.
        corpus: the training tokens as indices, one long sequence.
        num_epochs: passes over the corpus; capped in quick mode (:mod:`d2lutils.config`).
        batch_size, num_steps: minibatch shape.
        lr: learning rate of plain SGD; or give ``optimizer``.
        optimizer: a ``torch.optim`` optimizer over ``net``'s parameters.
        clip: the threshold of :func:`grad_clipping`, or ``None`` for no clipping.
        valid: held-out tokens; their :func:`perplexity` is measured after every epoch.
        random_iter: random instead of sequential partitioning.
        scheduler: a learning-rate scheduler of ``optimizer``, stepped after every minibatch.
        device: where to train (default :func:`~d2lutils.device.try_gpu`).
        seed: seeds the random offsets (and order, for random partitioning) of the minibatches.
        animate: plot the perplexities after every epoch.
        progress: show a progress bar; ``None`` shows it except in the book's stored runs.

    Returns:
        An :class:`LMResult` (its ``summary()`` is the printed line).

    Raises:
        ValueError: neither or both of ``lr`` and ``optimizer``, a non-positive ``clip`` or ``num_epochs``,
            or a corpus too short for one minibatch.
        FloatingPointError: the training perplexity became NaN or infinite.
    """
    where = "train_lm"
    if (optimizer is None) == (lr is None):
        raise ValueError("train_lm needs exactly one of optimizer and lr")
    if lr is not None:
        _check_lr(lr, where)
    if clip is not None and not (clip > 0 and math.isfinite(clip)):
        raise ValueError(f"train_lm: clip must be a finite positive number or None, got {clip!r}")
    num_epochs = config.epochs(num_epochs)
    dev = torch.device(device) if device is not None else try_gpu()
    net.to(dev)
    if optimizer is None:
        optimizer = torch.optim.SGD(net.parameters(), lr=lr)  # type: ignore[arg-type]
    corpus = torch.as_tensor(corpus, dtype=torch.long).to(dev)
    data_iter = seq_data_iter_random if random_iter else seq_data_iter_sequential
    batches = max(1, (len(corpus) - num_steps) // (batch_size * num_steps))  # for the progress bar only
    generator = torch.Generator().manual_seed(seed)
    legend = ["train"] + (["held-out"] if valid is not None else [])
    xlim = (1, num_epochs) if num_epochs > 1 else (0.5, 1.5)
    animator = Animator(xlabel="epoch", ylabel="perplexity", xlim=xlim, legend=legend) if animate else None
    show_bar = progress if progress is not None else not static_requested()
    bar = _progress(batches * num_epochs, "training") if show_bar else None
    history: dict[str, list[float]] = {"train_ppl": [], "valid_ppl": []}
    timer = Timer(dev)
    tokens = 0
    train_ppl = valid_ppl = float("nan")
    try:
        for epoch in range(1, num_epochs + 1):
            net.train()
            total = torch.zeros((), device=dev)
            n = 0
            state = None
            timer.start()
            for X, Y in data_iter(corpus, batch_size, num_steps, generator):
                if random_iter or state is None:
                    state = net.begin_state(X.shape[0], dev)
                else:
                    state = _detach(state)
                logits, state = net(X, state)
                loss = _cross_entropy_sum(logits, Y)
                optimizer.zero_grad()
                (loss / Y.numel()).backward()
                if clip is not None:
                    grad_clipping(net, clip)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                total += loss.detach()
                n += Y.numel()
                if bar is not None:
                    bar.update(1)
            timer.stop()
            tokens += n
            train_ppl = math.exp(min(float(total) / n, 700.0))
            if not math.isfinite(float(total)):
                raise FloatingPointError(
                    f"train_lm: the training loss became {float(total)} in epoch {epoch}: lower the learning rate "
                    f"or clip the gradients (clip=1.0)")
            history["train_ppl"].append(train_ppl)
            if valid is not None:
                valid_ppl = perplexity(net, valid, device=dev)
                history["valid_ppl"].append(valid_ppl)
            if bar is not None:
                bar.set_postfix_str(f"perplexity {train_ppl:.2f}", refresh=True)
            if animator is not None:
                animator.add(epoch, [train_ppl] + ([valid_ppl] if valid is not None else []))
    finally:
        if bar is not None:
            bar.close()
    result = LMResult(train_ppl, valid_ppl, tokens / max(timer.sum(), 1e-12), str(dev), timer.sum(), history)
    print(result.summary())
    return result


def predict(net: nn.Module, prefix: Sequence[str], num_preds: int, vocab: Vocab, *,
            temperature: float = 0.0, generator: torch.Generator | None = None,
            device: torch.device | str | None = None) -> list[str]:
    """Continue ``prefix`` by ``num_preds`` tokens (sections 9.5 and 10.5).

    The prefix is read first (warm-up: its tokens update the state, their predictions are ignored); then
    each new token is chosen from the model's next-token distribution and fed back as the next input.

    Args:
        net: a language model with the interface of :class:`RNNLM`.
        prefix: the first tokens (a string is a sequence of characters); at least one.
        num_preds: how many tokens to generate.
        vocab: maps tokens to indices and back.
        temperature: 0 (default) picks the most likely token (greedy); a positive value samples from
            ``softmax(logits / temperature)``.
        generator: a ``torch.Generator`` on the CPU for reproducible sampling.
        device: where to compute (default: where ``net``'s parameters are).

    Returns:
        The prefix's tokens followed by the generated ones.
    """
    if len(prefix) == 0:
        raise ValueError("predict needs a prefix of at least one token")
    if num_preds < 0 or temperature < 0:
        raise ValueError(f"num_preds and temperature must not be negative, got {num_preds} and {temperature}")
    dev = torch.device(device) if device is not None else next(net.parameters()).device
    was_training = net.training
    net.eval()
    tokens = list(prefix)
    with torch.no_grad():
        state = net.begin_state(1, dev)
        logits, state = net(torch.tensor([vocab[tokens]], device=dev), state)
        for _ in range(num_preds):
            last = logits[0, -1].float().cpu()
            if temperature == 0:
                index = int(last.argmax())
            else:
                probs = torch.softmax(last / temperature, dim=0)
                index = int(torch.multinomial(probs, 1, generator=generator))
            tokens.append(vocab.to_tokens(index))
            logits, state = net(torch.tensor([[index]], device=dev), state)
    net.train(was_training)
    return tokens
