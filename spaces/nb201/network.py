"""The NAS-Bench-201 macro network, built as the benchmark trained it.

Proxies score *this* module at PyTorch default init, so its structure (and therefore its
parameter count) must match NB201's ``TinyNetwork``/``InferCell`` exactly; a test checks the
count against the size the benchmark recorded for every one of the 15,625 cells.
"""
from __future__ import annotations

import functools
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nasearch.spaces.nb201.genotype import EDGES, OPS


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    """The ``none`` op: contributes nothing but keeps the edge in the graph."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


@functools.lru_cache(maxsize=64)
def in_image_taps(height: int, width: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """How many of each position's 3x3 neighbours lie inside the image (4 at corners, 9 inside)."""
    ones = torch.ones(1, 1, height, width, dtype=dtype, device=device)
    return F.avg_pool2d(ones, 3, 1, 1, count_include_pad=True, divisor_override=1)


class AvgPool3x3(nn.AvgPool2d):
    """NB201's ``avg_pool_3x3`` (stride 1, padding 1, padding not counted), as a depthwise sum.

    PyTorch's CPU ``avg_pool2d`` (and its backward) took a third of GradSign's time on NB201
    nets; a depthwise 3x3 convolution with a ones kernel, divided by the number of in-image
    taps, is the same average (float rounding of the backward aside; tested) and about five
    times faster on CPU. It stays an ``nn.AvgPool2d`` so that code inspecting the network
    sees what it is.
    """

    def __init__(self) -> None:
        super().__init__(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            return super().forward(x)
        channels = x.shape[1]
        kernel = x.new_ones(channels, 1, 3, 3)
        return F.conv2d(x, kernel, None, 1, 1, 1, channels) / in_image_taps(x.shape[-2], x.shape[-1], x.dtype, x.device)


class ResNetBasicBlock(nn.Module):
    """NB201's stride-2 residual block between stages."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


def make_op(name: str, channels: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1)
    if name == "avg_pool_3x3":
        return AvgPool3x3()
    raise ValueError(f"unknown NB201 op {name!r}; expected one of {OPS}")


class Cell(nn.Module):
    def __init__(self, ops: Sequence[int], channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(make_op(OPS[op], channels) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        edge = 0
        for target in (1, 2, 3):
            total = None
            while edge < len(EDGES) and EDGES[edge][0] == target:
                out = self.edges[edge](nodes[EDGES[edge][1]])
                total = out if total is None else total + out
                edge += 1
            nodes.append(total)
        return nodes[-1]


class NB201Network(nn.Module):
    """Stem, three stages of ``cells_per_stage`` cells (C, 2C, 4C), BN-ReLU, pool, linear."""

    def __init__(self, ops: Sequence[int], num_classes: int, channels: int = 16, cells_per_stage: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        layers: list[nn.Module] = []
        c = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ResNetBasicBlock(c, c * 2))
                c *= 2
            layers.extend(Cell(ops, c) for _ in range(cells_per_stage))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(out).flatten(1))
