"""The classic ImageNet architectures of chapter 8 at their true size, and what they cost.

Chapter 8 trains *scaled* versions of these networks on 28x28 Fashion-MNIST (a CPU cannot train the
real ones in minutes), and builds each real one in its own section from the blocks it teaches. This module
keeps one copy of each real network, so that a single table can compare them all (section 8.7) and each
section can check its own construction against it. They are meant to be built on the ``meta`` device,
where a module has shapes but no memory and no values::

    with torch.device("meta"):
        net = d2l.models.resnet(18)
    d2l.model_cost(net, (1, 3, 224, 224))   # ModelCost(params=11689512, flops=...)

Every builder takes 3x224x224 images and returns ``num_classes`` scores. The layouts follow the papers
and, where the papers leave a choice, torchvision's models, so parameter counts can be compared with
published numbers (see each docstring).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["CLASSICS", "ModelCost", "alexnet", "densenet121", "googlenet", "mobilenet_v1", "mobilenet_v2",
           "model_cost", "resnet", "vgg"]


# --------------------------------------------------------------------------- cost

@dataclass(frozen=True)
class ModelCost:
    """Size and arithmetic of a network: ``params`` (number of parameters) and ``flops``.

    ``flops`` counts the floating-point operations of one forward pass on the input it was measured
    with, as :class:`torch.utils.flop_counter.FlopCounterMode` does: the convolutions and matrix products,
    a multiply-add counting as 2; normalisation, activations and pooling are not counted (they are a few
    percent at most in these networks).
    """

    params: int
    flops: int

    @property
    def macs(self) -> int:
        """Multiply-adds (``flops / 2``), the unit many papers report."""
        return self.flops // 2


def model_cost(net: nn.Module, input_shape: Sequence[int]) -> ModelCost:
    """Count the parameters of ``net`` and the FLOPs of one forward pass on an input of ``input_shape``.

    The input is made on the device of ``net``'s parameters; on the ``meta`` device nothing is computed
    or allocated, so even VGG-16 is counted in milliseconds. The network is put in eval mode for the
    count (batch norm and dropout do not change the FLOPs counted) and left in that mode.

    Args:
        net: the module (with at least one parameter).
        input_shape: the shape of the input, batch dimension included, e.g. ``(1, 3, 224, 224)``.
            The FLOPs are those of the whole batch.

    Raises:
        ValueError: ``input_shape`` is not a sequence of positive integers, or ``net`` has no parameters.
    """
    shape = tuple(input_shape)
    if not shape or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
        raise ValueError("model_cost: input_shape must be positive integers, e.g. (1, 3, 224, 224); "
                         f"got {input_shape!r}")
    params = list(net.parameters())
    if not params:
        raise ValueError("model_cost: the network has no parameters")
    x = torch.zeros(shape, device=params[0].device, dtype=params[0].dtype)
    net.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(x)
    return ModelCost(sum(p.numel() for p in params), int(counter.get_total_flops()))


# --------------------------------------------------------------------------- AlexNet and VGG

def alexnet(num_classes: int = 1000) -> nn.Sequential:
    """AlexNet (Krizhevsky et al. 2012) in its single-GPU form: 61,100,840 parameters.

    Five convolutions with 64, 192, 384, 256 and 256 channels (torchvision's layout, from Krizhevsky's
    2014 "one weird trick" paper; the 2012 paper split 96, 256, 384, 384, 256 channels over two GPUs),
    three 3x3 max poolings with stride 2, and three dense layers with dropout.
    """
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2),
        nn.AdaptiveAvgPool2d(6), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, num_classes))


#: VGG configurations by depth (Simonyan and Zisserman 2015, table 1), the output channels of each 3x3
#: convolution in order, with ``"M"`` for a 2x2 max pooling.
VGG_CONFIGS: dict[int, list[int | str]] = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def vgg(depth: int = 16, num_classes: int = 1000) -> nn.Sequential:
    """VGG-11, -13, -16 or -19 without batch norm: VGG-11 has 132,863,336 parameters, VGG-16 138,357,544.

    Raises:
        ValueError: ``depth`` is not 11, 13, 16 or 19.
    """
    if depth not in VGG_CONFIGS:
        raise ValueError(f"vgg: depth must be one of {sorted(VGG_CONFIGS)}, got {depth!r}")
    layers: list[nn.Module] = []
    c = 3
    for v in VGG_CONFIGS[depth]:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, int(v), kernel_size=3, padding=1), nn.ReLU()]
            c = int(v)
    return nn.Sequential(
        *layers, nn.AdaptiveAvgPool2d(7), nn.Flatten(),
        nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, num_classes))


# --------------------------------------------------------------------------- GoogLeNet

class Inception(nn.Module):
    """The Inception block of GoogLeNet: four parallel paths concatenated along the channels.

    Paths: a 1x1 convolution (``c1`` channels); 1x1 (``c2[0]``) then 3x3 (``c2[1]``); 1x1 (``c3[0]``)
    then 5x5 (``c3[1]``); 3x3 max pooling then 1x1 (``c4``). Every convolution is followed by a ReLU.
    """

    def __init__(self, in_channels: int, c1: int, c2: tuple[int, int], c3: tuple[int, int], c4: int) -> None:
        super().__init__()
        self.p1 = nn.Sequential(nn.Conv2d(in_channels, c1, 1), nn.ReLU())
        self.p2 = nn.Sequential(nn.Conv2d(in_channels, c2[0], 1), nn.ReLU(),
                                nn.Conv2d(c2[0], c2[1], 3, padding=1), nn.ReLU())
        self.p3 = nn.Sequential(nn.Conv2d(in_channels, c3[0], 1), nn.ReLU(),
                                nn.Conv2d(c3[0], c3[1], 5, padding=2), nn.ReLU())
        self.p4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                nn.Conv2d(in_channels, c4, 1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.p1(x), self.p2(x), self.p3(x), self.p4(x)], dim=1)


def googlenet(num_classes: int = 1000) -> nn.Sequential:
    """GoogLeNet (Szegedy et al. 2015, table 1) without its two auxiliary classifiers: 6,998,552 parameters.

    Nine Inception blocks with the paper's widths, 5x5 convolutions in the third path, biases and ReLUs,
    global average pooling and one dense layer (dropout 0.4). The local response normalisation of the
    paper has no parameters and is left out. torchvision's ``googlenet`` differs in two ways (6,624,904
    parameters): batch norm after every convolution (without biases), and 3x3 kernels where the paper has
    5x5, a known discrepancy kept for compatibility with its pretrained weights.
    """
    def conv(c_in: int, c_out: int, k: int, stride: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2), nn.ReLU()]

    def pool() -> nn.Module:
        return nn.MaxPool2d(3, stride=2, padding=1)

    return nn.Sequential(
        *conv(3, 64, 7, stride=2), pool(),
        *conv(64, 64, 1), *conv(64, 192, 3), pool(),
        Inception(192, 64, (96, 128), (16, 32), 32),
        Inception(256, 128, (128, 192), (32, 96), 64), pool(),
        Inception(480, 192, (96, 208), (16, 48), 64),
        Inception(512, 160, (112, 224), (24, 64), 64),
        Inception(512, 128, (128, 256), (24, 64), 64),
        Inception(512, 112, (144, 288), (32, 64), 64),
        Inception(528, 256, (160, 320), (32, 128), 128), pool(),
        Inception(832, 256, (160, 320), (32, 128), 128),
        Inception(832, 384, (192, 384), (48, 128), 128),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.4), nn.Linear(1024, num_classes))


# --------------------------------------------------------------------------- ResNet

class BasicBlock(nn.Module):
    """ResNet's basic residual block (post-activation): two 3x3 convolutions with batch norm, then
    ``relu(F(x) + shortcut(x))``; the shortcut is a strided 1x1 convolution with batch norm when the
    shape changes."""

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        out = channels * self.expansion
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(channels),
            nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        self.shortcut = _shortcut(in_channels, out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    """ResNet-50's bottleneck block: 1x1 (reduce), 3x3 (with the stride), 1x1 (expand 4x), batch norm
    after each, then ``relu(F(x) + shortcut(x))``."""

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        out = channels * self.expansion
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, channels, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(channels),
            nn.ReLU(), nn.Conv2d(channels, out, 1, bias=False), nn.BatchNorm2d(out))
        self.shortcut = _shortcut(in_channels, out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


def _shortcut(in_channels: int, out: int, stride: int) -> nn.Module:
    if stride == 1 and in_channels == out:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_channels, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))


#: Blocks per stage of each ResNet depth (He et al. 2016, table 1).
RESNET_STAGES: dict[int, tuple[type[nn.Module], tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3)), 152: (Bottleneck, (3, 8, 36, 3)),
}


def resnet(depth: int = 18, num_classes: int = 1000) -> nn.Sequential:
    """ResNet-18, -34, -50, -101 or -152: ResNet-18 has 11,689,512 parameters, ResNet-50 25,557,032.

    A 7x7 stem with stride 2 and max pooling, four stages of 64, 128, 256 and 512 channels (times 4 at
    the output of bottleneck blocks), each but the first halving the resolution in its first block (in the
    3x3 convolution of a bottleneck, as torchvision does), global average pooling and one dense layer.

    Raises:
        ValueError: ``depth`` is not one of 18, 34, 50, 101, 152.
    """
    if depth not in RESNET_STAGES:
        raise ValueError(f"resnet: depth must be one of {sorted(RESNET_STAGES)}, got {depth!r}")
    block, counts = RESNET_STAGES[depth]
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64),
                               nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1)]
    c = 64
    for stage, n in enumerate(counts):
        channels = 64 * 2 ** stage
        for i in range(n):
            layers.append(block(c, channels, stride=2 if stage > 0 and i == 0 else 1))
            c = channels * block.expansion  # type: ignore[attr-defined]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))


# --------------------------------------------------------------------------- DenseNet

class DenseLayer(nn.Module):
    """One layer of a DenseNet-BC dense block: BN-ReLU-1x1 conv (``4k`` channels), BN-ReLU-3x3 conv
    (``k`` channels); its output is concatenated to its input."""

    def __init__(self, in_channels: int, growth: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(in_channels), nn.ReLU(), nn.Conv2d(in_channels, 4 * growth, 1, bias=False),
            nn.BatchNorm2d(4 * growth), nn.ReLU(), nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], dim=1)


def densenet121(num_classes: int = 1000) -> nn.Sequential:
    """DenseNet-121 (Huang et al. 2017; DenseNet-BC, growth rate 32): 7,978,856 parameters.

    A 7x7 stem of 64 channels with max pooling, dense blocks of 6, 12, 24 and 16 layers, transition
    layers (BN-ReLU-1x1 conv halving the channels, 2x2 average pooling) between them, a final BN-ReLU,
    global average pooling and one dense layer from 1,024 features.
    """
    growth = 32
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64),
                               nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1)]
    c = 64
    for i, n in enumerate((6, 12, 24, 16)):
        for _ in range(n):
            layers.append(DenseLayer(c, growth))
            c += growth
        if i < 3:
            layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c // 2, 1, bias=False), nn.AvgPool2d(2)]
            c //= 2
    return nn.Sequential(*layers, nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(c, num_classes))


# --------------------------------------------------------------------------- MobileNet

def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1,
             act: Callable[[], nn.Module] | None = nn.ReLU) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(c_out)]
    return layers + ([act()] if act is not None else [])


def mobilenet_v1(num_classes: int = 1000) -> nn.Sequential:
    """MobileNet v1 (Howard et al. 2017, table 1, width multiplier 1): 4,231,976 parameters.

    A 3x3 convolution with stride 2, then 13 depthwise-separable blocks (a 3x3 depthwise convolution
    and a 1x1 pointwise one, each with batch norm and ReLU), global average pooling and one dense layer.
    """
    plan = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2),
            *[(512, 512, 1)] * 5, (512, 1024, 2), (1024, 1024, 1)]
    layers = _conv_bn(3, 32, 3, stride=2)
    for c_in, c_out, stride in plan:
        layers += _conv_bn(c_in, c_in, 3, stride=stride, groups=c_in) + _conv_bn(c_in, c_out, 1)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, num_classes))


class InvertedResidual(nn.Module):
    """MobileNet v2's block: 1x1 expansion (``t`` times, ReLU6), 3x3 depthwise (ReLU6), 1x1 linear
    projection; the input is added when the stride is 1 and the channels agree."""

    def __init__(self, c_in: int, c_out: int, stride: int, t: int) -> None:
        super().__init__()
        hidden = c_in * t
        layers = _conv_bn(c_in, hidden, 1, act=nn.ReLU6) if t != 1 else []
        layers += _conv_bn(hidden, hidden, 3, stride=stride, groups=hidden, act=nn.ReLU6)
        layers += _conv_bn(hidden, c_out, 1, act=None)
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


def mobilenet_v2(num_classes: int = 1000) -> nn.Sequential:
    """MobileNet v2 (Sandler et al. 2018, table 2, width multiplier 1): 3,504,872 parameters.

    A 3x3 convolution with stride 2, 17 inverted residual blocks in seven groups (expansion ``t``,
    channels ``c``, repeats ``n``, stride ``s``), a 1x1 convolution to 1,280 channels, global average
    pooling, dropout 0.2 and one dense layer.
    """
    plan = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
            (6, 320, 1, 1)]
    layers: list[nn.Module] = _conv_bn(3, 32, 3, stride=2, act=nn.ReLU6)
    c = 32
    for t, c_out, n, s in plan:
        for i in range(n):
            layers.append(InvertedResidual(c, c_out, s if i == 0 else 1, t))
            c = c_out
    layers += _conv_bn(c, 1280, 1, act=nn.ReLU6)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                         nn.Linear(1280, num_classes))


#: The networks of chapter 8's comparison table, in the order of the chapter.
CLASSICS: dict[str, Callable[[], nn.Module]] = {
    "AlexNet": alexnet,
    "VGG-11": lambda: vgg(11),
    "VGG-16": lambda: vgg(16),
    "GoogLeNet": googlenet,
    "ResNet-18": lambda: resnet(18),
    "ResNet-50": lambda: resnet(50),
    "DenseNet-121": densenet121,
    "MobileNet v1": mobilenet_v1,
    "MobileNet v2": mobilenet_v2,
}
