"""The DARTS / NDS CIFAR network, built as the benchmarks trained it.

One builder for every design of the family: the DARTS evaluation network (Liu et al. 2019,
``cnn/model.py``'s ``NetworkCIFAR``), which NDS trained through pycls (``models/nas/nas.py``) and
NAS-Bench-301 at C = 32, 8 cells. Structure:

* stem: 3x3 convolution to ``stem_multiplier * C`` channels (3 * C) + BatchNorm;
* ``layers`` cells; the cells at ``layers // 3`` and ``2 * layers // 3`` are reduction cells and
  double the channels; each cell first preprocesses its two inputs (ReLU-conv1x1-BN, or a
  factorized reduce for the cell-two-back when the previous cell reduced), then each node sums
  its two ops, and the cell concatenates the states its genotype names;
* ops on a reduction cell's inputs 0 and 1 have stride 2 (``skip_connect`` becomes a factorized
  reduce); pools carry no BatchNorm in the evaluation network (only DARTS's search-time mixed op
  adds one);
* global average pooling and a linear classifier.

Proxies use it without the auxiliary head and without drop-path (neither changes the network at
initialisation but the head adds parameters); ``auxiliary=True`` adds pycls's CIFAR auxiliary head
after cell ``2 * layers // 3``, only so that parameter counts of records trained with it can be
reproduced. The ops are pycls's (which extend DARTS's with the NDS ops); the factorized reduce is
pycls's (zero-pad, then shift: on even sizes it reads the same pixels as DARTS's and gives the same output).
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from nasearch.spaces.darts.genotype import ALL_OPS, CELLS, Genotype


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel, stride, padding, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing positions: two stride-2 1x1 convs, the second on the
    input shifted by one pixel, concatenated, then BN (pycls's variant: pad, then shift)."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"factorized reduce needs an even channel count, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class SepConv(nn.Sequential):
    """DARTS's separable conv: two ReLU - depthwise - pointwise - BN blocks (stride on the first)."""

    def __init__(self, channels: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                 affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, stride=stride, padding=padding, dilation=dilation, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, stride=1, padding=padding, dilation=dilation, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels, affine=affine),
        )


class DilConv(nn.Sequential):
    """DARTS's dilated conv: one ReLU - depthwise (dilation 2) - pointwise - BN block."""

    def __init__(self, channels: int, kernel: int, stride: int, padding: int, dilation: int,
                 affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, stride=stride, padding=padding, dilation=dilation, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels, affine=affine),
        )


class FactorizedConv(nn.Sequential):
    """pycls's ``conv_kx1_1xk``: ReLU, a 1xk then a kx1 convolution (the stride split between them), BN."""

    def __init__(self, channels: int, kernel: int, stride: int, affine: bool = True) -> None:
        pad = kernel // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, (1, kernel), stride=(1, stride), padding=(0, pad), bias=False),
            nn.Conv2d(channels, channels, (kernel, 1), stride=(stride, 1), padding=(pad, 0), bias=False),
            nn.BatchNorm2d(channels, affine=affine),
        )


class Zero(nn.Module):
    """The ``none`` op (NDS's DARTS op set): zeros, subsampled when strided."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


@functools.lru_cache(maxsize=64)
def _in_image_taps(height: int, width: int, stride: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    ones = torch.ones(1, 1, height, width, dtype=dtype, device=device)
    return F.avg_pool2d(ones, 3, stride, 1, count_include_pad=True, divisor_override=1)


class AvgPool3x3(nn.AvgPool2d):
    """``avg_pool_3x3`` (padding 1, padding not counted) computed as a depthwise ones-kernel conv divided
    by the number of in-image taps: the same average, several times faster than PyTorch's CPU pooling
    in the backward that gradient proxies run (tests compare the two). Still an ``nn.AvgPool2d``."""

    def __init__(self, stride: int) -> None:
        super().__init__(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            return super().forward(x)
        channels = x.shape[1]
        kernel = x.new_ones(channels, 1, 3, 3)
        summed = F.conv2d(x, kernel, None, self.stride, 1, 1, channels)
        return summed / _in_image_taps(x.shape[-2], x.shape[-1], self.stride, x.dtype, x.device)


def make_op(name: str, channels: int, stride: int, affine: bool = True) -> nn.Module:
    """One op of the family at ``channels`` channels and ``stride`` (pycls's definitions); ``affine``
    gives its BatchNorms a scale and shift (the trained networks have them)."""
    c, a = channels, affine
    if name == "none":
        return Zero(stride)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, a)
    if name == "avg_pool_3x3":
        return AvgPool3x3(stride)
    if name in ("max_pool_3x3", "max_pool_5x5", "max_pool_7x7"):
        kernel = int(name[-1])
        return nn.MaxPool2d(kernel, stride=stride, padding=kernel // 2)
    if name == "conv_1x1":
        return ReLUConvBN(c, c, 1, stride, 0, a)
    if name == "conv_3x3":
        return ReLUConvBN(c, c, 3, stride, 1, a)
    if name in ("sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7"):
        kernel = int(name[-1])
        return SepConv(c, kernel, stride, kernel // 2, affine=a)
    if name in ("dil_conv_3x3", "dil_conv_5x5"):
        kernel = int(name[-1])
        return DilConv(c, kernel, stride, kernel - 1, 2, affine=a)
    if name == "dil_sep_conv_3x3":
        return SepConv(c, 3, stride, 2, dilation=2, affine=a)
    if name == "conv_3x1_1x3":
        return FactorizedConv(c, 3, stride, a)
    if name == "conv_7x1_1x7":
        return FactorizedConv(c, 7, stride, a)
    raise ValueError(f"unknown DARTS-family op {name!r}; the builder knows {list(ALL_OPS)}")


class Cell(nn.Module):
    def __init__(self, genotype: Genotype, c_prev_prev: int, c_prev: int, channels: int, reduction: bool, reduction_prev: bool, op_affine: bool = True) -> None:
        super().__init__()
        self.reduction = reduction
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(c_prev_prev, channels)
        else:
            self.preprocess0 = ReLUConvBN(c_prev_prev, channels, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_prev, channels, 1, 1, 0)
        name = "reduce" if reduction else "normal"
        pairs = genotype.cell(name)
        self.indices = tuple(source for _, source in pairs)
        self.concat = genotype.concat(name)
        self.ops = nn.ModuleList(
            make_op(op, channels, 2 if reduction and source < 2 else 1, op_affine) for op, source in pairs
        )
        self.multiplier = len(self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(len(self.indices) // 2):
            a, b = 2 * node, 2 * node + 1
            states.append(self.ops[a](states[self.indices[a]]) + self.ops[b](states[self.indices[b]]))
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS/pycls's CIFAR auxiliary head (for an 8x8 input); built only on request, for parameter counts."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class DartsNetwork(nn.Module):
    """The DARTS/NDS CIFAR network of ``genotype`` at width ``C`` and ``layers`` cells.

    ``op_affine=False`` builds the ops' BatchNorms without scale and shift, as NASLib's NB301 graph
    does (its one-shot primitives): that is the network NASLib's ``zc_nasbench301.json`` scores and
    counts ``params`` on; the trained DARTS/NB301/NDS networks have affine BatchNorms (the default).

    ``forward`` returns the logits only (the auxiliary head, when built, is not run: it is there
    for parameter counts of records trained with one)."""

    def __init__(self, genotype: Genotype, C: int, layers: int, num_classes: int = 10,
                 stem_multiplier: int = 3, auxiliary: bool = False, in_channels: int = 3, op_affine: bool = True) -> None:
        super().__init__()
        if layers < 1 or C < 1:
            raise ValueError(f"a DARTS network needs width >= 1 and depth >= 1, got C={C}, layers={layers}")
        self.genotype = genotype
        c_curr = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        c_aux = None
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            cell = Cell(genotype, c_prev_prev, c_prev, c_curr, reduction, reduction_prev, op_affine)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
            if i == 2 * layers // 3:
                c_aux = c_prev
        self.auxiliary_head = AuxiliaryHeadCIFAR(c_aux, num_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.global_pooling(s1).flatten(1))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())

