import math

import pytest
import torch
from torch import nn

import d2lutils as d2l
from d2lutils import train


def test_accumulator():
    acc = d2l.Accumulator(2)
    acc.add(1, 2.5)
    acc.add(torch.tensor(3.0), 0.5)
    assert acc[0] == 4.0 and acc[1] == 3.0
    acc.reset()
    assert acc.data == [0.0, 0.0]
    with pytest.raises(ValueError, match="expects 2 values"):
        acc.add(1)


def test_accuracy_counts_correct_predictions():
    y_hat = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    y = torch.tensor([1, 1, 1])
    assert d2l.accuracy(y_hat, y) == 2.0
    assert d2l.accuracy(torch.tensor([1, 0, 1]), y) == 2.0


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="forget to flatten"):
        d2l.accuracy(torch.zeros(4, 3, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="labels must have shape"):
        d2l.accuracy(torch.zeros(4, 3), torch.zeros(4, 1, dtype=torch.long))


def _blobs(n=600, seed=0, spread=0.5):
    g = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    y = torch.randint(0, 3, (n,), generator=g)
    X = centers[y] + spread * torch.randn(n, 2, generator=g)
    return X, y


def _quiet(**kwargs):
    return {"device": "cpu", "animate": False, "progress": False, **kwargs}


def test_train_classifier_learns_separable_blobs(full, capsys):
    torch.manual_seed(0)
    X, y = _blobs()
    train_iter = d2l.load_array((X[:500], y[:500]), 50)
    test_iter = d2l.load_array((X[500:], y[500:]), 50, shuffle=False)
    net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    result = d2l.train_classifier(net, train_iter, test_iter, nn.CrossEntropyLoss(), 5, lr=0.3,
                                  device="cpu", progress=False)
    out = capsys.readouterr().out
    assert result.test_acc >= 0.95 and result.train_acc >= 0.9
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]
    assert len(result.history["test_acc"]) == 5
    assert result.examples_per_sec > 0 and result.device == "cpu"
    line = out.strip().splitlines()[-1]
    assert line == result.summary()
    assert line.startswith("loss ") and line.endswith("examples/sec on cpu") and "test acc" in line


def test_reported_test_accuracy_equals_an_independent_count(full):
    """The reported test accuracy is what the returned model scores, counted by hand (argmax == label)."""
    torch.manual_seed(1)
    X, y = _blobs(400, seed=3, spread=1.6)  # overlapping blobs: the accuracy is neither 1 nor chance
    X_test, y_test = X[300:], y[300:]
    net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
    result = d2l.train_classifier(net, d2l.load_array((X[:300], y[:300]), 32),
                                  d2l.load_array((X_test, y_test), 32, shuffle=False),
                                  nn.CrossEntropyLoss(), 2, lr=0.1, **_quiet())
    net.eval()
    with torch.no_grad():
        predictions = net(X_test).argmax(dim=1)
    correct = sum(int(p) == int(t) for p, t in zip(predictions, y_test))
    assert 0.4 < correct / len(y_test) < 0.99
    assert result.test_acc == pytest.approx(correct / len(y_test), abs=1e-12)
    assert result.history["test_acc"][-1] == result.test_acc


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reported_loss_is_the_mean_per_example_whatever_the_reduction(full, reduction):
    X, y = _blobs(100)
    torch.manual_seed(0)
    net = nn.Linear(2, 3)
    with torch.no_grad():
        expected = nn.functional.cross_entropy(net(X), y).item()
    frozen = torch.optim.SGD(net.parameters(), lr=0.0)  # no update: every batch sees the same model
    result = d2l.train_classifier(net, d2l.load_array((X, y), 25), d2l.load_array((X, y), 25),
                                  nn.CrossEntropyLoss(reduction=reduction), 1, optimizer=frozen, **_quiet())
    assert result.train_loss == pytest.approx(expected, rel=1e-5)


def test_one_epoch_plots_one_point_on_an_integer_tick(full, monkeypatch):
    import warnings

    animators = []

    class Recorded(d2l.Animator):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            animators.append(self)

    monkeypatch.setattr(train, "Animator", Recorded)
    X, y = _blobs(40)
    it = d2l.load_array((X, y), 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "Attempting to set identical low and high xlims"
        d2l.train_classifier(nn.Linear(2, 3), it, it, nn.CrossEntropyLoss(), 1, lr=0.1, device="cpu",
                             progress=False)
    axes = animators[0].axes
    axes.figure.canvas.draw()
    lo, hi = axes.get_xlim()
    assert [t for t in axes.get_xticks() if lo <= t <= hi] == [1.0]


def test_train_classifier_quick_mode_caps_epochs(quick, capsys):
    X, y = _blobs(100)
    it = d2l.load_array((X, y), 25)
    net = nn.Linear(2, 3)
    result = d2l.train_classifier(net, it, it, nn.CrossEntropyLoss(reduction="none"), 10,
                                  optimizer=torch.optim.SGD(net.parameters(), lr=0.1), **_quiet())
    assert len(result.history["train_loss"]) == 2


def test_train_classifier_bad_arguments():
    X, y = _blobs(20)
    it = d2l.load_array((X, y), 10)
    with pytest.raises(ValueError, match="optimizer or a learning rate"):
        d2l.train_classifier(nn.Linear(2, 3), it, it, nn.CrossEntropyLoss(), 1, device="cpu")
    with pytest.raises(ValueError, match="forget to flatten"):
        net = nn.Sequential(nn.Linear(2, 3), nn.Unflatten(1, (3, 1)))
        d2l.train_classifier(net, it, it, nn.CrossEntropyLoss(), 1, lr=0.1, **_quiet())


@pytest.mark.parametrize("lr", ["0.1", [0.1], True])
def test_train_classifier_rejects_a_learning_rate_that_is_not_a_number(lr):
    X, y = _blobs(20)
    it = d2l.load_array((X, y), 10)
    with pytest.raises(TypeError, match=r"lr must be a number.*got"):
        d2l.train_classifier(nn.Linear(2, 3), it, it, nn.CrossEntropyLoss(), 1, lr=lr, **_quiet())


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -0.1, 0.0])
def test_train_classifier_rejects_a_learning_rate_that_cannot_train(lr):
    X, y = _blobs(20)
    it = d2l.load_array((X, y), 10)
    with pytest.raises(ValueError, match="lr must be a finite positive number"):
        d2l.train_classifier(nn.Linear(2, 3), it, it, nn.CrossEntropyLoss(), 1, lr=lr, **_quiet())


class _NaNAfter(nn.Module):
    """A linear classifier whose output turns NaN from the ``start``-th forward call on."""

    def __init__(self, start):
        super().__init__()
        self.linear, self.calls, self.start = nn.Linear(2, 3), 0, start

    def forward(self, X):
        self.calls += 1
        out = self.linear(X)
        return out * float("nan") if self.calls >= self.start else out


def test_training_that_turns_nan_stops_with_an_error_naming_the_epoch(full):
    X, y = _blobs(100)
    it = d2l.load_array((X, y), 25)
    net = _NaNAfter(start=4 + 4 + 1)  # 4 training batches per epoch; evaluation of epoch 1 takes 4 calls
    with pytest.raises(FloatingPointError, match=r"epoch 2 of 5") as err:
        d2l.train_classifier(net, it, it, nn.CrossEntropyLoss(), 5, lr=0.1, **_quiet())
    message = str(err.value)
    assert "nan" in message and "learning rate" in message and "clip" in message and "inputs" in message


def test_a_learning_rate_that_overflows_stops_training(full):
    X, y = _blobs(100)
    it = d2l.load_array((X, y), 25)
    torch.manual_seed(0)
    with pytest.raises(FloatingPointError, match=r"in epoch 1 of 3"):
        d2l.train_classifier(nn.Linear(2, 3), it, it, nn.CrossEntropyLoss(), 3, lr=3e38, **_quiet())


def test_on_divergence_stop_returns_the_partial_result(full, capsys):
    X, y = _blobs(100)
    it = d2l.load_array((X, y), 25)
    result = d2l.train_classifier(_NaNAfter(start=9), it, it, nn.CrossEntropyLoss(), 5, lr=0.1,
                                  on_divergence="stop", **_quiet())
    assert result.diverged_epoch == 2
    assert len(result.history["train_loss"]) == 2 and math.isnan(result.train_loss)
    assert "diverged in epoch 2" in capsys.readouterr().out
    with pytest.raises(ValueError, match="on_divergence"):
        d2l.train_classifier(nn.Linear(2, 3), it, it, nn.CrossEntropyLoss(), 1, lr=0.1, on_divergence="x",
                             **_quiet())


class _FlipsWhileTraining(nn.Module):
    """Negates the scores in training mode, so an evaluation that forgets eval mode counts the wrong class."""

    def forward(self, X):
        return -X if self.training else X


def test_evaluate_accuracy_counts_exactly_and_restores_mode():
    # A fixed rule: class 0 when x0 > 0, else class 1; the labels below agree with it on 4 of 7 examples.
    X = torch.tensor([[1.0, 0.0], [2.0, 0.0], [-1.0, 0.0], [-3.0, 0.0], [0.5, 0.0], [-0.5, 0.0], [4.0, 0.0]])
    y = torch.tensor([0, 1, 1, 0, 0, 0, 0])  # right: examples 0, 2, 4, 6
    net = nn.Sequential(nn.Linear(2, 2), _FlipsWhileTraining())
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
        net[0].bias.zero_()
    net.train()
    acc = d2l.evaluate_accuracy(net, d2l.load_array((X, y), 3, shuffle=False))
    assert acc == pytest.approx(4 / 7)  # in eval mode, every batch counted (3 + 3 + 1 examples)
    assert net.training


class _DtypeProbe(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear, self.dtypes = nn.Linear(2, 3), set()

    def forward(self, X):
        out = self.linear(X)
        self.dtypes.add(out.dtype)
        return out


@pytest.mark.parametrize(("native_bf16", "amp", "expected"), [
    (True, True, torch.bfloat16), (True, None, torch.float32), (True, False, torch.float32),
    (False, True, torch.float32), (False, None, torch.float32)])
def test_amp_choice_on_cpu(full, monkeypatch, native_bf16, amp, expected):
    """On a CPU, bf16 autocast runs only with amp=True and a CPU that computes bf16 natively."""
    monkeypatch.setattr(train, "cpu_has_bf16", lambda: native_bf16)
    X, y = _blobs(60)
    it = d2l.load_array((X, y), 20)
    net = _DtypeProbe()
    d2l.train_classifier(net, it, it, nn.CrossEntropyLoss(), 1, lr=0.1, amp=amp, **_quiet())
    assert net.dtypes == {expected}
    net.dtypes.clear()
    d2l.evaluate_accuracy(net, it, "cpu", amp=amp)
    assert net.dtypes == {expected}


def test_autocast_on_cuda_is_bf16_unless_turned_off():
    with pytest.warns(UserWarning) if not torch.cuda.is_available() else _nothing():
        ctx = train._autocast(torch.device("cuda"), None)
    assert isinstance(ctx, torch.autocast) and ctx.device == "cuda" and ctx.fast_dtype == torch.bfloat16
    assert not isinstance(train._autocast(torch.device("cuda"), False), torch.autocast)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


def test_cpu_has_bf16_is_false_without_onednn(monkeypatch):
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    assert d2l.cpu_has_bf16() is False


def test_progress_bar_is_notebook_aware_and_counts_every_batch(full, monkeypatch):
    import tqdm.auto

    bars = []

    class FakeBar:
        def __init__(self, total, **kwargs):
            self.total, self.n, self.closed, self.postfix = total, 0, False, ""
            bars.append(self)

        def update(self, k):
            self.n += k

        def set_postfix_str(self, text, refresh=True):
            self.postfix = text

        def close(self):
            self.closed = True

    monkeypatch.setattr(tqdm.auto, "tqdm", FakeBar)
    monkeypatch.delenv("D2L_STATIC_WIDGETS", raising=False)
    X, y = _blobs(100)
    it = d2l.load_array((X, y), 25)
    d2l.train_classifier(nn.Linear(2, 3), it, it, nn.CrossEntropyLoss(), 3, lr=0.1, device="cpu",
                         animate=False)
    assert len(bars) == 1
    assert bars[0].total == 12 and bars[0].n == 12 and bars[0].closed
    assert bars[0].postfix.startswith("loss ")


def test_no_progress_bar_in_stored_runs(full, monkeypatch, capsys):
    """The book's runner (D2L_STATIC_WIDGETS=1) stores no bar: only the summary line remains."""
    monkeypatch.setenv("D2L_STATIC_WIDGETS", "1")
    X, y = _blobs(100)
    it = d2l.load_array((X, y), 25)
    result = d2l.train_classifier(nn.Linear(2, 3), it, it, nn.CrossEntropyLoss(), 2, lr=0.1, device="cpu",
                                  animate=False)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == result.summary() + "\n"


_TRAINING_CELL = """\
import torch
from torch import nn
import d2lutils as d2l
g = torch.Generator().manual_seed(0)
X, y = torch.randn(64, 2, generator=g), torch.randint(0, 3, (64,), generator=g)
it = d2l.load_array((X, y), 16)
print("label:", end=" ")
r = d2l.train_classifier(nn.Linear(2, 3), it, it, nn.CrossEntropyLoss(), 2, lr=0.1, device="cpu")
"""


@pytest.mark.parametrize("stored", [True, False])
def test_training_outputs_in_a_jupyter_kernel(tmp_path, monkeypatch, stored):
    """In a real kernel: a stored run (D2L_STATIC_WIDGETS=1) keeps the figure and the summary line only, no bar
    and no bar text; a live run adds one progress-bar widget, displayed once, above the one live figure."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(_TRAINING_CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    monkeypatch.setenv("D2L_MODE", "full")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    if stored:
        monkeypatch.setenv("D2L_STATIC_WIDGETS", "1")
    else:
        monkeypatch.delenv("D2L_STATIC_WIDGETS", raising=False)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    kinds = []
    for o in outputs:
        if o.output_type == "stream":
            kinds.append(o.name)
        else:
            kinds.append("widget" if "application/vnd.jupyter.widget-view+json" in o.data else "figure")
    texts = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    summary = [o.text for o in outputs if o.output_type == "stream"][-1]
    assert summary.startswith("loss ") and summary.endswith(" examples/sec on cpu\n")
    if stored:
        assert kinds == ["stdout", "figure", "stdout"]
        assert "%|" not in texts and "training" not in texts
    else:
        assert kinds == ["stdout", "widget", "figure", "stdout"]
    assert outputs[0].text == "label: "


def test_scheduler_steps_once_per_minibatch(full):
    """A scheduler passed to train_classifier is stepped after every optimizer step."""
    X, y = _blobs(60)
    it = d2l.load_array((X, y), 20)                       # 3 minibatches per epoch
    net = nn.Linear(2, 3)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 / (1 + step))
    d2l.train_classifier(net, it, it, nn.CrossEntropyLoss(), 2, optimizer=opt, scheduler=sched, **_quiet())
    assert sched.last_epoch == 6
    torch.testing.assert_close(opt.param_groups[0]["lr"], 0.1 / 7, rtol=1e-12, atol=0)


def test_scheduler_needs_its_optimizer(full):
    X, y = _blobs(60)
    it = d2l.load_array((X, y), 20)
    net = nn.Linear(2, 3)
    other = torch.optim.SGD(nn.Linear(2, 3).parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(other, 1)
    with pytest.raises(ValueError, match="scheduler needs the optimizer"):
        d2l.train_classifier(net, it, it, nn.CrossEntropyLoss(), 1, lr=0.1, scheduler=sched, **_quiet())
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="another optimizer"):
        d2l.train_classifier(net, it, it, nn.CrossEntropyLoss(), 1, optimizer=opt, scheduler=sched, **_quiet())
