"""The NAS-Bench-101 CIFAR-10 network, built as the benchmark's ``model_builder`` builds it.

Stem: 3x3 conv-BN-ReLU to 128 channels. Three stacks of three modules (the cell); before the
second and third stack a 2x2 max-pool (stride 2) and the module channels double. Global average
pool, then a dense layer (with bias) to the classes. Every convolution is conv-BN-ReLU without
bias; BN has scale and centre, TensorFlow's momentum 0.997 (PyTorch's ``momentum`` = 1 - 0.997)
and epsilon 1e-5.

Inside a module (``build_module``): the vertices' channels come from
:func:`vertex_channels`; a vertex sums its inputs, those from the module input through a 1x1
conv-BN-ReLU *projection* to the vertex's channels, those from other vertices *truncated* to its
channels (first channels kept); the vertices feeding the output are concatenated, and an
input->output edge adds a projection of the input to the concatenation (a module with only that
edge is the projection). Its trainable-parameter count equals the benchmark's
``trainable_parameters`` (tests pin the README's cell and check NASLib's 500 recorded counts).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from nasearch.spaces.nb101.cell import CONV1X1, CONV3X3, MAXPOOL3X3, Cell

BN_MOMENTUM = 1.0 - 0.997  # TensorFlow's decay 0.997 as PyTorch's momentum
BN_EPSILON = 1e-5
STEM_CHANNELS = 128
NUM_STACKS = 3
MODULES_PER_STACK = 3


def vertex_channels(input_channels: int, output_channels: int, matrix: Sequence[Sequence[int]]) -> list[int]:
    """``compute_vertex_channels``: the output's channels split evenly among the vertices feeding it
    (the remainder one each to the first of them), every other interior vertex the max of its
    successors', going backwards; the input keeps its channels."""
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[n - 1] = input_channels, output_channels
    if n == 2:
        return channels
    fan_in = sum(matrix[v][n - 1] for v in range(1, n))
    interior, correction = divmod(output_channels, fan_in)
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            channels[v] = interior + (1 if correction else 0)
            correction -= 1 if correction else 0
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v][dst]:
                    channels[v] = max(channels[v], channels[dst])
    return channels


class ConvBnRelu(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride=1, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, eps=BN_EPSILON, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=False),
        )


def make_op(name: str, channels: int) -> nn.Module:
    if name == CONV3X3:
        return ConvBnRelu(channels, channels, 3)
    if name == CONV1X1:
        return ConvBnRelu(channels, channels, 1)
    if name == MAXPOOL3X3:
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NAS-Bench-101 op {name!r}")


class Module(nn.Module):
    """One NAS-Bench-101 module (cell) from ``input_channels`` to ``output_channels``."""

    def __init__(self, cell: Cell, input_channels: int, output_channels: int) -> None:
        super().__init__()
        matrix = cell.matrix
        self.matrix = matrix
        self.n = n = cell.num_vertices
        self.channels = vertex_channels(input_channels, output_channels, matrix)
        self.ops = nn.ModuleDict()
        self.projections = nn.ModuleDict()
        for t in range(1, n - 1):
            if matrix[0][t]:
                self.projections[str(t)] = ConvBnRelu(input_channels, self.channels[t], 1)
            self.ops[str(t)] = make_op(cell.ops[t], self.channels[t])
        if matrix[0][n - 1]:
            self.projections[str(n - 1)] = ConvBnRelu(input_channels, output_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, matrix, channels = self.n, self.matrix, self.channels
        tensors = [x]
        concat = []
        for t in range(1, n - 1):
            inputs = [tensors[src][:, :channels[t]] for src in range(1, t) if matrix[src][t]]
            if matrix[0][t]:
                inputs.append(self.projections[str(t)](x))
            total = inputs[0]
            for other in inputs[1:]:
                total = total + other
            tensors.append(self.ops[str(t)](total))
            if matrix[t][n - 1]:
                concat.append(tensors[t])
        if not concat:
            return self.projections[str(n - 1)](x)
        out = concat[0] if len(concat) == 1 else torch.cat(concat, dim=1)
        if matrix[0][n - 1]:
            out = out + self.projections[str(n - 1)](x)
        return out


class NB101Network(nn.Module):
    """The benchmark's CIFAR network for ``cell``: stem, 3 stacks x 3 modules, pool, dense."""

    def __init__(self, cell: Cell, num_classes: int = 10, stem_channels: int = STEM_CHANNELS,
                 num_stacks: int = NUM_STACKS, modules_per_stack: int = MODULES_PER_STACK) -> None:
        super().__init__()
        self.stem = ConvBnRelu(3, stem_channels, 3)
        layers: list[nn.Module] = []
        channels = stem_channels
        for stack in range(num_stacks):
            c_in = channels
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                channels *= 2
            for _ in range(modules_per_stack):
                layers.append(Module(cell, c_in, channels))
                c_in = channels
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(self.stem(x))
        return self.classifier(out.mean(dim=(2, 3)))


def trainable_parameters(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters() if p.requires_grad)
