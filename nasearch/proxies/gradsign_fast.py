"""Exact GradSign from one batched forward/backward instead of one pass per sample.

GradSign needs the sign of every per-sample gradient entry of every Conv2d/Linear weight,
with each sample normalised by its *own* BatchNorm statistics (the paper's code runs batch-1
passes in training mode). Two facts make a single batched pass compute exactly that:

* A batch-1 BatchNorm in training mode normalises each channel over that sample's H x W,
  which is instance normalisation with BatchNorm's affine parameters. With every BatchNorm
  evaluated that way, no sample influences another, so the gradient of the *summed* loss
  with respect to a layer's output is, row by row, each sample's own output gradient.
* A weight's per-sample gradient is a product of the layer's saved input and that output
  gradient (an outer product for Linear, an unfolded correlation for Conv2d), the method of
  Opacus and BackPACK. Each layer's per-sample gradients are reduced to a sign count as soon
  as its output gradient arrives, so at most one layer's per-sample gradients (in chunks of
  samples) exist at a time.

The scored weights are frozen during the pass, so autograd computes only activation
gradients; the weight gradients it would have computed for the whole batch are replaced by
the per-sample ones, and the total arithmetic equals one ordinary training step.

The time does not: on one CPU thread a pass costs ~1.5 plain training steps (issue #15's goal
was 1.2; ``benchmarks/profile_gradsign.py``, docs/gpu.md). Two parts, both pinned by exactness:
instance normalisation returns NCHW-contiguous activations while the CIFAR batch (and so a
plain training step) runs channels-last, which makes the same convolutions ~0.24 steps dearer;
and the grouped per-sample weight-gradient kernel costs ~0.35 steps where a batch weight
gradient costs ~0.19. GradSign is an integer sign count, and a different memory format or
kernel rounds differently and flips near-zero signs, so either change would move the scores
(``benchmarks/check_gradsign_table.py`` checks them against the packaged tables exactly).

``gradsign_vmap`` is the textbook ``torch.func`` alternative (``vmap`` over ``grad`` of a
batch-1 functional call); it is kept for the speed benchmark and as a second exact path.
"""
from __future__ import annotations

import types
from contextlib import ExitStack, contextmanager
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

SCORED_LAYERS = (nn.Conv2d, nn.Linear)
#: Samples per chunk when forming per-sample weight gradients; bounds the unfolded input.
DEFAULT_CHUNK = 32


def _per_sample_batchnorm_forward(self: _BatchNorm, x: torch.Tensor) -> torch.Tensor:
    """A batch-1 training-mode BatchNorm applied to every sample separately."""
    if x.dim() < 3:
        # a batch-1 BatchNorm over (1, C) has one value per channel: the loop raises too
        raise ValueError(f"per-sample BatchNorm needs spatial dims, got input of shape {tuple(x.shape)}")
    return F.instance_norm(x, None, None, self.weight, self.bias, use_input_stats=True, momentum=0.0, eps=self.eps)


@contextmanager
def patched_batchnorm(network: nn.Module, forward) -> Iterator[None]:
    """Evaluate every BatchNorm of ``network`` with ``forward`` instead, then restore it."""
    patched = [m for m in network.modules() if isinstance(m, _BatchNorm)]
    for module in patched:
        module.forward = types.MethodType(forward, module)  # type: ignore[method-assign]
    try:
        yield
    finally:
        for module in patched:
            del module.forward


def per_sample_batchnorm(network: nn.Module):
    """Every BatchNorm of ``network`` with per-sample statistics, for the duration of a ``with``."""
    return patched_batchnorm(network, _per_sample_batchnorm_forward)


@contextmanager
def frozen_parameters(network: nn.Module) -> Iterator[None]:
    """Stop autograd from computing any parameter gradient; only activation gradients flow."""
    flags = [(p, p.requires_grad) for p in network.parameters()]
    for parameter, _ in flags:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter, flag in flags:
            parameter.requires_grad_(flag)


def per_sample_weight_grads(layer: nn.Module, inputs: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """Per-sample gradients ``(n, *layer.weight.shape)`` of a Conv2d or Linear weight."""
    n = inputs.shape[0]
    if isinstance(layer, nn.Linear):
        # tokens (any middle dims) are summed: g_i = sum_t dout_it (x) in_it
        return torch.einsum("n...o,n...i->noi", grad_out, inputs)
    if isinstance(layer, nn.Conv2d):
        if layer.padding_mode != "zeros" or isinstance(layer.padding, str):
            raise ValueError(f"per-sample gradients support explicit zero padding only, got {layer}")
        out_channels, in_per_group, kh, kw = layer.weight.shape
        groups = layer.groups
        if (kh, kw) == (1, 1) and layer.stride == (1, 1) and layer.padding == (0, 0) and groups == 1:
            # a 1x1 conv is a per-position linear map: one batched matmul, no unfolding
            per_sample = torch.matmul(grad_out.reshape(n, out_channels, -1), inputs.reshape(n, inputs.shape[1], -1).transpose(1, 2))
            return per_sample.reshape(n, out_channels, in_per_group, kh, kw)
        # Stack the samples as groups of one convolution: the weight gradient of a conv with
        # n * groups groups is exactly the per-sample weight gradients, computed by the same
        # optimised kernel as an ordinary backward pass (much faster than unfold + matmul).
        # A weight gradient does not read the weight, only its shape: an uninitialised
        # placeholder replaces the n copies of the weight (a 19 MB copy per chunk for a
        # 64-channel 3x3 conv, ~10% of this call); the gradient is bitwise the same.
        _, weight_grad, _ = torch.ops.aten.convolution_backward(
            grad_out.reshape(1, n * out_channels, *grad_out.shape[2:]),
            inputs.reshape(1, n * inputs.shape[1], *inputs.shape[2:]),
            grad_out.new_empty((n * out_channels, in_per_group, kh, kw)),
            None,
            list(layer.stride),
            list(layer.padding),
            list(layer.dilation),
            False,
            [0, 0],
            n * groups,
            [False, True, False],
        )
        return weight_grad.reshape(n, out_channels, in_per_group, kh, kw)
    raise TypeError(f"no per-sample gradient rule for {type(layer).__name__}")



def _on_output_gradient(output: torch.Tensor, hook: Callable[[torch.Tensor], None]) -> torch.Tensor:
    """Have ``hook`` called with the gradient of a scored layer's output (a forward hook's return)."""
    if not output.requires_grad:
        # nothing upstream is differentiable (e.g. the input is a constant): start a graph
        # here so this layer still receives its output gradient; nothing is cut off
        output = output.detach().requires_grad_(True)
    output.register_hook(hook)
    return output

def _all_zero(grad_out: torch.Tensor) -> bool:
    """Whether a layer's output gradient is exactly zero (a dead branch), cheaply: a live
    branch almost always shows it in the first sample already, so the whole tensor (one
    extra pass over it, ~5% of a CPU run) is read only when that sample is all zero. Skipping
    only ever skips work whose signs are all 0, so the score is the same either way."""
    if grad_out.shape[0] and bool(grad_out[0].any()):
        return False
    return not bool(grad_out.any())


class _SignCounter:
    """Collects sum_k |sum_i sign(g_ik)| layer by layer during one backward pass."""

    def __init__(self, chunk: int) -> None:
        self.chunk = chunk
        self.total = 0
        # a weight used more than once gets per-sample gradients summed over its uses
        # before the sign is taken; a weight used once is reduced immediately
        self.uses: dict[int, int] = {}
        self.pending: dict[int, torch.Tensor] = {}
        self.totals: list[torch.Tensor] = []

    def forward_hook(self, layer: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        key = id(layer.weight)
        self.uses[key] = self.uses.get(key, 0) + 1
        return _on_output_gradient(output, self._backward_hook(layer, args[0].detach()))

    def _backward_hook(self, layer: nn.Module, saved: torch.Tensor) -> Callable[[torch.Tensor], None]:
        def hook(grad_out: torch.Tensor) -> None:
            key = id(layer.weight)
            if self.uses[key] > 1:
                partial = per_sample_weight_grads(layer, saved, grad_out)
                self.pending[key] = self.pending[key] + partial if key in self.pending else partial
                return
            if _all_zero(grad_out):
                return  # a dead branch (e.g. feeding only a ``none`` edge): every sign is 0
            signs = None
            for start in range(0, saved.shape[0], self.chunk):
                part = per_sample_weight_grads(layer, saved[start : start + self.chunk], grad_out[start : start + self.chunk])
                chunk_signs = torch.sign(part).sum(0)  # small integers, exact in float32
                signs = chunk_signs if signs is None else signs.add_(chunk_signs)
            if signs is not None:
                # kept on the layer's device: integers, exact in float64; read once, in finish(),
                # so a GPU run does not wait for every layer
                self.totals.append(signs.abs().sum(dtype=torch.float64))

        return hook

    def finish(self) -> int:
        for partial in self.pending.values():
            self.totals.append(torch.sign(partial).sum(0).abs().sum(dtype=torch.float64))
        self.pending.clear()
        if self.totals:
            self.total += int(torch.stack(self.totals).sum().item())
            self.totals.clear()
        return self.total


def _batched_backward(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, forward_hook) -> None:
    """One forward/backward of the summed loss with per-sample BatchNorm and frozen parameters,
    ``forward_hook`` on every scored layer: the hooks see each layer's input and, through the
    tensor hooks they register, its per-sample output gradient."""
    network.train()
    layers = [m for m in network.modules() if isinstance(m, SCORED_LAYERS)]
    with ExitStack() as stack:
        stack.enter_context(per_sample_batchnorm(network))
        stack.enter_context(frozen_parameters(network))
        for layer in layers:
            stack.callback(layer.register_forward_hook(forward_hook).remove)
        x = inputs.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            loss = F.cross_entropy(network(x), labels, reduction="sum")  # sum: each sample keeps its own gradient
            if loss.requires_grad:  # else no scored layer reaches the loss: every gradient is zero
                loss.backward()  # parameters are frozen: only activation gradients (and x's) are formed


def gradsign_fast(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, chunk: int = DEFAULT_CHUNK) -> float:
    """GradSign with per-sample BatchNorm statistics, from one batched forward/backward."""
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    counter = _SignCounter(chunk)
    _batched_backward(network, inputs, labels, counter.forward_hook)
    return float(counter.finish())


class _GradientCollector:
    """Keeps every scored weight's per-sample gradients ``(n, *shape)`` from one backward pass.

    Unlike the sign counter it cannot reduce a layer as it goes: a proxy that normalises each
    sample's whole gradient vector (gradalign) needs every layer before it can use any. The
    memory is ``n x #weights`` floats (about 0.4 GB for NB201's largest cell at batch 64).
    """

    def __init__(self) -> None:
        self.grads: dict[int, torch.Tensor] = {}

    def forward_hook(self, layer: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        saved = args[0].detach()
        key = id(layer.weight)

        def hook(grad_out: torch.Tensor) -> None:
            part = per_sample_weight_grads(layer, saved, grad_out)
            self.grads[key] = self.grads[key] + part if key in self.grads else part

        return _on_output_gradient(output, hook)


def per_sample_gradients(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> dict[int, torch.Tensor]:
    """Per-sample gradients of every Conv2d/Linear weight, keyed by ``id(weight)``, with
    per-sample BatchNorm statistics (the batch-1 protocol), from one batched pass. A weight
    that no loss reaches is absent (its gradient is zero)."""
    collector = _GradientCollector()
    _batched_backward(network, inputs, labels, collector.forward_hook)
    return collector.grads


def _batch1_batchnorm_forward(self: _BatchNorm, x: torch.Tensor) -> torch.Tensor:
    """Training-mode BatchNorm without running-stat updates (vmap cannot mutate buffers)."""
    return F.batch_norm(x, None, None, self.weight, self.bias, training=True, momentum=0.0, eps=self.eps)


def _functional_batchnorm(network: nn.Module):
    return patched_batchnorm(network, _batch1_batchnorm_forward)


def gradsign_vmap(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, chunk: int = DEFAULT_CHUNK) -> float:
    """GradSign via ``torch.func``: ``vmap`` over ``grad`` of a batch-1 call per sample."""
    from torch.func import functional_call, grad, vmap

    network.train()
    names = [f"{name}.weight" if name else "weight" for name, m in network.named_modules() if isinstance(m, SCORED_LAYERS)]
    params = dict(network.named_parameters())
    scored = {name: params[name].detach() for name in names}
    fixed = {name: p.detach() for name, p in params.items() if name not in scored}
    fixed.update(dict(network.named_buffers()))

    def sample_loss(weights: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = functional_call(network, {**fixed, **weights}, (x.unsqueeze(0),))
        return F.cross_entropy(out, y.unsqueeze(0))

    per_sample = vmap(grad(sample_loss), in_dims=(None, 0, 0))
    sign_sums = {name: torch.zeros_like(w) for name, w in scored.items()}
    with _functional_batchnorm(network):
        for start in range(0, inputs.shape[0], chunk):  # reduce each chunk: memory stays chunk x params
            grads = per_sample(scored, inputs[start : start + chunk], labels[start : start + chunk])
            for name, g in grads.items():
                sign_sums[name] += torch.sign(g).sum(0)
    return float(sum(int(s.abs().sum(dtype=torch.float64).item()) for s in sign_sums.values()))
