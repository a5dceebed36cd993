"""d2lutils.models: the classic networks at true size and model_cost."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import d2lutils as d2l
from d2lutils import models

# Published parameter counts (torchvision's models; the GoogLeNet of the paper, see its docstring) and
# multiply-adds for one 224x224 image, in millions, as the papers and torchvision's docs report them.
EXPECTED = {
    "AlexNet": (61_100_840, 714), "VGG-11": (132_863_336, 7_609), "VGG-16": (138_357_544, 15_470),
    "GoogLeNet": (6_998_552, 1_580), "ResNet-18": (11_689_512, 1_814), "ResNet-50": (25_557_032, 4_089),
    "DenseNet-121": (7_978_856, 2_834), "MobileNet v1": (4_231_976, 569), "MobileNet v2": (3_504_872, 301),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_true_size_networks_match_published_counts(name):
    with torch.device("meta"):
        net = models.CLASSICS[name]()
    cost = d2l.model_cost(net, (1, 3, 224, 224))
    params, mmacs = EXPECTED[name]
    assert cost.params == params
    # FLOP counts in the literature differ by what they include (biases, pooling): within 2%
    assert abs(cost.macs / 1e6 - mmacs) < 0.02 * mmacs, cost.macs
    assert all(p.is_meta for p in net.parameters())


def test_networks_run_on_real_tensors_and_give_class_scores():
    torch.manual_seed(0)
    for build in (lambda: models.resnet(18, num_classes=7), lambda: models.mobilenet_v2(num_classes=7)):
        net = build().eval()
        with torch.no_grad():
            assert net(torch.rand(2, 3, 64, 64)).shape == (2, 7)


def test_model_cost_counts_a_linear_layer_exactly():
    net = nn.Sequential(nn.Linear(10, 4), nn.ReLU())
    cost = d2l.model_cost(net, (3, 10))
    assert cost == d2l.ModelCost(params=44, flops=2 * 3 * 10 * 4)
    assert cost.macs == 120


def test_model_cost_counts_a_convolution_exactly():
    net = nn.Conv2d(2, 3, kernel_size=3, padding=1)
    assert d2l.model_cost(net, (1, 2, 5, 5)).flops == 2 * 5 * 5 * 3 * 2 * 9


@pytest.mark.parametrize("shape", [(), (1, 0, 3), (1, 2.5), "1,3", (True, 3)])
def test_model_cost_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="input_shape"):
        d2l.model_cost(nn.Linear(3, 1), shape)


def test_model_cost_needs_parameters():
    with pytest.raises(ValueError, match="no parameters"):
        d2l.model_cost(nn.ReLU(), (1, 3))


@pytest.mark.parametrize(("build", "bad"), [(models.vgg, 12), (models.resnet, 20)])
def test_unknown_depths_are_refused(build, bad):
    with pytest.raises(ValueError, match="depth must be one of"):
        build(bad)
