"""Fast kernels for the HYDRA teacher: band-major layout, pixels as the long axis.

The teacher is a per-pixel 1-D network over the spectrum. Written the obvious way
(:class:`torch.nn.Conv1d` over a ``(pixels, channels, bands)`` batch) it runs PyTorch's
convolution with 4-32 channels and 26-202 positions per "image", which on a CPU is far
from matrix-product speed (well under 1 GFLOP/s measured; see
``benchmarks/results/profile_parts.md``). The kernels here compute the *same function*
with a different data layout and a few exact algebraic rewrites:

Layout ``(C, L, P)``
    channels x band positions x pixels, pixels contiguous. An image's latent
    ``(latent, H, W)`` already *is* ``(latent, P)`` and the decoded cube
    ``(bands, H, W)`` *is* ``(bands, P)``: no permutes on the way in or out. A 1-D
    convolution along the band axis becomes a 2-D convolution of a single
    ``C x L x P`` "image" with a ``k x 1`` kernel, which oneDNN vectorises over the
    pixel axis; the squeeze-excitation MLP becomes two small matrix products with the
    pixels as the long GEMM dimension.

Nearest x2 upsampling fused into the next convolution (polyphase)
    In the decoder every convolution but the first reads a nearest-neighbour x2
    upsampled signal ``u[j] = x[j // 2]``. Output phase ``r`` (``n = 2m + r``) of a
    ``k``-tap convolution of ``u`` only ever reads ``x[m + d]`` for a few offsets ``d``,
    so it is a ``ceil(k/2) + 1``-tap convolution of ``x`` with summed weights (for
    ``k = 5``: 3 taps per phase). Both phases are computed as one convolution with
    ``2 x C_out`` output channels at the *half* length and interleaved: 40 % fewer
    multiply-adds for ``k = 5`` and the upsampled signal is never materialised.
    When the reference crops the upsampled signal to an odd length ``N = 2M - 1``, the
    last ``k // 2`` outputs would read the cropped sample ``u[N] = x[M - 1]``; their
    contributions are subtracted exactly (:func:`upsample_conv`).

Pixel chunks
    Work is done on chunks of pixels sized so that the widest activation stays around
    a few MiB (cache-resident): ``teacher.fast_chunk_elements`` floats. The inference
    decoder splits an image's pixels into equal chunks of that size or less
    (:func:`_balanced`), so no short last chunk pays a chunk's fixed cost.

Everything is plain differentiable PyTorch (training uses these kernels too). The
straightforward Conv1d implementation stays in :class:`~specrecon.models.teacher.HydraTeacher`
(``kernel="reference"``) and is the oracle of the equivalence tests
(``tests/models/test_teacher_kernels.py``: outputs within 1e-5, gradients within 1e-4
relative).

Examples
--------
>>> import torch
>>> from specrecon.models.teacher import HydraTeacher
>>> t = HydraTeacher(bands=31, latent=6, channels=(4, 8), linear_shortcut=True)
>>> z = torch.randn(2, 6, 5, 7)
>>> fast = decode(t, z)
>>> ref = t.decode(z, kernel="reference")
>>> bool((fast - ref).abs().max() < 1e-5)
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from specrecon.models.layers import autocast_enabled

if TYPE_CHECKING:  # pragma: no cover
    from specrecon.models.teacher import HydraTeacher

__all__ = [
    "autocast_enabled",
    "band_conv",
    "upsample_conv",
    "polyphase_weights",
    "squeeze_excite",
    "max_pool_bands",
    "encode",
    "decode",
]


#: Convolutions with ``C_in x C_out`` at most this run as shifted matrix products
#: (:func:`_shifted_conv`); wider ones through oneDNN's 2-D convolution. Measured on
#: CPU (``benchmarks/profile_parts.py``): oneDNN reaches 40-80 GFLOP/s at 16 x 16 but
#: 7-17 GFLOP/s when ``C_out`` is 1-4, where the shifted products are 1.5-2.5x faster.
SHIFTED_MAX_CHANNEL_PRODUCT = 64


def _shifted_conv(xp: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                  length: int, out: torch.Tensor | None = None) -> torch.Tensor:
    """Valid ``k``-tap conv of a padded ``(C_in, length + k - 1, P)`` map as ``k`` GEMMs.

    Tap ``t`` is ``W[:, :, t] @ xp[:, t:t + length]`` with the slice seen as a
    ``(C_in, length * P)`` matrix (no copy: its rows are contiguous). Returns
    ``(C_out, length * P)``, written into ``out`` when given (inference buffers).
    """
    c_in, k = weight.shape[1], weight.shape[2]
    cols = length * xp.shape[-1]
    first = xp[:, 0:length].reshape(c_in, cols)
    y = (torch.mm(weight[:, :, 0], first, out=out) if bias is None
         else torch.addmm(bias.unsqueeze(1), weight[:, :, 0], first, out=out))
    in_place = out is not None or not torch.is_grad_enabled()
    for t in range(1, k):
        tap = xp[:, t:t + length].reshape(c_in, cols)
        y = y.addmm_(weight[:, :, t], tap) if in_place else y.addmm(weight[:, :, t], tap)
    return y


def band_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``Conv1d`` along the band axis of a ``(C, L, P)`` map, zero 'same' padding.

    Parameters
    ----------
    x : torch.Tensor
        ``(C_in, L, P)``.
    weight : torch.Tensor
        ``(C_out, C_in, k)`` (a :class:`torch.nn.Conv1d` weight), ``k`` odd.
    bias : torch.Tensor or None
        ``(C_out,)``.

    Returns
    -------
    torch.Tensor
        ``(C_out, L, P)``, equal to ``conv1d`` applied to every pixel's ``(C_in, L)``.

    Examples
    --------
    >>> x, w, b = torch.randn(3, 11, 4), torch.randn(2, 3, 5), torch.randn(2)
    >>> ref = F.conv1d(x.permute(2, 0, 1), w, b, padding=2).permute(1, 2, 0)
    >>> bool(torch.allclose(band_conv(x, w, b), ref, atol=1e-5))
    True
    """
    grad = torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)
    return _run(_prepare(weight, bias, up=False), x, x.shape[1], grad)


def polyphase_weights(weight: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """Weights of "nearest x2 upsample, then ``k``-tap conv" as one conv at half length.

    Parameters
    ----------
    weight : torch.Tensor
        ``(C_out, C_in, k)`` with ``k`` odd and 'same' padding ``p = k // 2``.

    Returns
    -------
    weight2 : torch.Tensor
        ``(2 * C_out, C_in, taps)``: rows ``r * C_out + o`` give output phase ``r``
        (``n = 2 m + r``) of channel ``o``.
    pad_left, pad_right : int
        Zero padding of the half-length input.

    Notes
    -----
    ``y[2m + r] = sum_t w[t] u[2m + r + t - p]`` with ``u[j] = x[j // 2]`` reads
    ``x[m + (r + t - p) // 2]``: the taps of each phase are summed by offset.

    Examples
    --------
    >>> w2, left, right = polyphase_weights(torch.ones(1, 1, 5))
    >>> w2[:, 0], left, right
    (tensor([[2., 2., 1.],
            [1., 2., 2.]]), 1, 1)
    """
    c_out, c_in, k = weight.shape
    p = k // 2
    offsets = [[(r + t - p) // 2 for t in range(k)] for r in (0, 1)]
    lo = min(min(o) for o in offsets)
    hi = max(max(o) for o in offsets)
    taps = hi - lo + 1
    phases = []
    for r in (0, 1):
        cols = [weight.new_zeros(c_out, c_in) for _ in range(taps)]
        for t, d in enumerate(offsets[r]):
            cols[d - lo] = cols[d - lo] + weight[:, :, t]
        phases.append(torch.stack(cols, dim=-1))
    return torch.cat(phases, dim=0), -lo, hi


def upsample_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                  length: int) -> torch.Tensor:
    """``conv1d(upsample_nearest_x2(x)[:length])`` along the bands of a ``(C, L, P)`` map.

    Computed without materialising the upsampled signal (see the module notes,
    "polyphase").

    Parameters
    ----------
    x : torch.Tensor
        ``(C_in, M, P)``.
    weight, bias : torch.Tensor
        A ``Conv1d`` weight ``(C_out, C_in, k)`` (odd ``k``) and bias ``(C_out,)``.
    length : int
        ``2 M`` or ``2 M - 1`` (the reference crops the upsampled signal to it).

    Returns
    -------
    torch.Tensor
        ``(C_out, length, P)``.

    Examples
    --------
    >>> x, w, b = torch.randn(3, 6, 4), torch.randn(2, 3, 5), torch.randn(2)
    >>> up = x.repeat_interleave(2, dim=1)[:, :11]
    >>> ref = band_conv(up, w, b)
    >>> bool(torch.allclose(upsample_conv(x, w, b, 11), ref, atol=1e-5))
    True
    """
    m = x.shape[1]
    if length not in (2 * m, 2 * m - 1):
        raise ValueError(f"length must be 2*{m} or 2*{m}-1, got {length}")
    grad = torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)
    return _run(_prepare(weight, bias, up=True), x, length, grad)


def squeeze_excite(x: torch.Tensor, fc1: nn.Linear, fc2: nn.Linear) -> torch.Tensor:
    """Squeeze-excitation of :class:`~specrecon.models.layers.SqueezeExcitation1d` on ``(C, L, P)``.

    ``a = sigmoid(fc2(relu(fc1(mean_L x))))`` per pixel, then ``x * a``.

    Examples
    --------
    >>> from specrecon.models.layers import SqueezeExcitation1d
    >>> se = SqueezeExcitation1d(4, 2)
    >>> x = torch.randn(6, 4, 9)                       # (pixels, C, L)
    >>> fast = squeeze_excite(x.permute(1, 2, 0), se.fc1, se.fc2).permute(2, 0, 1)
    >>> bool(torch.allclose(fast, se(x), atol=1e-6))
    True
    """
    squeeze = x.mean(dim=1)                                          # (C, P)
    hidden = F.relu(torch.addmm(fc1.bias.unsqueeze(1), fc1.weight, squeeze))
    gate = torch.sigmoid(torch.addmm(fc2.bias.unsqueeze(1), fc2.weight, hidden))
    return x * gate.unsqueeze(1)


def max_pool_bands(x: torch.Tensor) -> torch.Tensor:
    """``MaxPool1d(2, ceil_mode=True)`` along the band axis of ``(C, L, P)``.

    Examples
    --------
    >>> x = torch.arange(5.0).view(1, 5, 1)
    >>> max_pool_bands(x)[0, :, 0]
    tensor([1., 3., 4.])
    """
    length = x.shape[1]
    pairs = length // 2
    even = torch.maximum(x[:, 0:2 * pairs:2], x[:, 1:2 * pairs:2])
    if length % 2 == 0:
        return even
    return torch.cat([even, x[:, length - 1:]], dim=1)


@dataclass(frozen=True)
class _Conv:
    """A band convolution prepared once per call: weights reshaped for the chosen path."""

    weight: torch.Tensor          # (C_out', C_in, taps); C_out' = 2 C_out when polyphase
    bias: torch.Tensor | None
    left: int                     # zero padding of the input along the bands
    right: int
    c_out: int
    shifted: bool                 # shifted GEMMs (True) or oneDNN conv2d (False)
    up: bool                      # nearest x2 upsampling fused in (polyphase)
    taps_full: torch.Tensor       # the original (C_out, C_in, k) weight (crop correction)


def _prepare(weight: torch.Tensor, bias: torch.Tensor | None, up: bool,
             scale: float = 1.0, shift: float = 0.0) -> _Conv:
    """Prepare ``scale * conv(x) + shift`` (optionally with fused upsampling)."""
    c_out, c_in, k = weight.shape
    if scale != 1.0:
        weight = weight * scale
        bias = None if bias is None else bias * scale
    if shift != 0.0:
        bias = (weight.new_full((c_out,), shift) if bias is None else bias + shift)
    if up:
        w2, left, right = polyphase_weights(weight)
        b2 = None if bias is None else torch.cat([bias, bias])
    else:
        w2, left, right, b2 = weight, k // 2, k // 2, bias
    shifted = c_in * c_out <= SHIFTED_MAX_CHANNEL_PRODUCT
    if not shifted:
        w2 = w2.unsqueeze(-1)
    return _Conv(w2, b2, left, right, c_out, shifted, up, weight)


def _crop_terms(conv: _Conv, x_last: torch.Tensor, length: int) -> tuple[int, torch.Tensor]:
    """First affected output and the terms to remove when the upsampled input is cropped.

    The reference crops the upsampled signal to an odd ``length = 2 M - 1``: output
    ``n`` would read the cropped sample ``u[length] = x[M - 1]`` (``x_last``,
    ``(C_in, P)``) with tap ``t = length + p - n``. Returns ``first`` and the
    ``(C_out, length - first, P)`` contributions of outputs ``first .. length - 1``.
    """
    p = conv.taps_full.shape[-1] // 2
    first = max(0, length - p)
    if first >= length:   # a 1-tap kernel never reads past its own sample
        return first, x_last.new_zeros(conv.c_out, 0, x_last.shape[-1])
    tap_w = torch.stack([conv.taps_full[:, :, length + p - n] for n in range(first, length)])
    return first, torch.einsum("noi,ip->onp", tap_w, x_last)


def _run(conv: _Conv, x: torch.Tensor, length: int, grad: bool) -> torch.Tensor:
    """Apply a prepared convolution to ``(C_in, M, P)``; returns ``(C_out, length, P)``."""
    m, pixels = x.shape[1], x.shape[2]
    xp = F.pad(x, (0, 0, conv.left, conv.right))
    if conv.shifted:       # (C_out', M, P); C_out' = 2 C_out phase-major when up
        y2 = _shifted_conv(xp, conv.weight, conv.bias, m).view(-1, m, pixels)
    else:
        y2 = F.conv2d(xp.unsqueeze(0), conv.weight, conv.bias)[0]
    if not conv.up:
        return y2
    c = conv.c_out
    y = y2.view(2, c, m, pixels).permute(1, 2, 0, 3).reshape(c, 2 * m, pixels)
    if length == 2 * m:
        return y
    first, corr = _crop_terms(conv, x[:, m - 1, :], length)
    if first >= length:
        return y[:, :length]
    if not grad:
        y = y[:, :length]
        y[:, first:length] -= corr
        return y
    return torch.cat([y[:, :first], y[:, first:length] - corr], dim=1)


@dataclass(frozen=True)
class _Plan:
    """Everything a chunk needs, prepared once per encode/decode call."""

    convs: tuple[_Conv, ...]
    acts: tuple[nn.Module, ...]
    ses: tuple[tuple[nn.Linear, nn.Linear], ...]
    lengths: tuple[int, ...]      # output length of each level
    head: _Conv | None
    grad: bool


def _grad(t: HydraTeacher, x: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and (
        x.requires_grad or any(p.requires_grad for p in t.parameters()))


def _decoder_plan(t: HydraTeacher, grad: bool) -> _Plan:
    lens = t._lengths
    convs = tuple(_prepare(level.conv.weight, level.conv.bias, up=i > 0)
                  for i, level in enumerate(t.decoder))
    level_lengths = tuple([lens[-1], *lens[-2:0:-1]])
    # the decoder's output affine 0.5 * (y + 1) is folded into the head
    head = _prepare(t.head.weight, t.head.bias, up=True, scale=0.5, shift=0.5)
    return _Plan(convs, tuple(lv.act for lv in t.decoder),
                 tuple((lv.se.fc1, lv.se.fc2) for lv in t.decoder), level_lengths, head, grad)


def _encoder_plan(t: HydraTeacher, grad: bool) -> _Plan:
    convs = tuple(_prepare(level.conv.weight, level.conv.bias, up=False) for level in t.encoder)
    return _Plan(convs, tuple(lv.act for lv in t.encoder),
                 tuple((lv.se.fc1, lv.se.fc2) for lv in t.encoder),
                 tuple(t._lengths[:-1]), None, grad)


def _level(plan: _Plan, i: int, x: torch.Tensor) -> torch.Tensor:
    y = plan.acts[i](_run(plan.convs[i], x, plan.lengths[i], plan.grad))
    fc1, fc2 = plan.ses[i]
    return squeeze_excite(y, fc1, fc2)


def encode_chunk(t: HydraTeacher, s: torch.Tensor, plan: _Plan | None = None) -> torch.Tensor:
    """Encoder on band-major spectra ``(bands, P)`` -> latent ``(latent, P)``.

    Examples
    --------
    >>> from specrecon.models.teacher import HydraTeacher
    >>> t = HydraTeacher(31, 6, (4,))
    >>> encode_chunk(t, torch.rand(31, 10)).shape
    torch.Size([6, 10])
    """
    plan = plan or _encoder_plan(t, _grad(t, s))
    centred = 2.0 * s - 1.0
    x = centred.unsqueeze(0)
    for i in range(len(plan.convs)):
        x = max_pool_bands(_level(plan, i, x))
    flat = x.reshape(-1, x.shape[-1])
    z = torch.addmm(t.to_latent.bias.unsqueeze(1), t.to_latent.weight, flat)
    if t.linear_shortcut:
        z = z.addmm_(t.enc_linear.weight, centred) if not plan.grad else z.addmm(
            t.enc_linear.weight, centred)
    return z


def decode_chunk(t: HydraTeacher, z: torch.Tensor, plan: _Plan | None = None) -> torch.Tensor:
    """Decoder on band-major codes ``(latent, P)`` -> spectra ``(bands, P)``.

    Examples
    --------
    >>> from specrecon.models.teacher import HydraTeacher
    >>> t = HydraTeacher(31, 6, (4, 8))
    >>> decode_chunk(t, torch.rand(6, 10)).shape
    torch.Size([31, 10])
    """
    plan = plan or _decoder_plan(t, _grad(t, z))
    x = torch.addmm(t.from_latent.bias.unsqueeze(1), t.from_latent.weight, z)
    x = t.latent_act(x).view(t.channels[-1], t._lengths[-1], z.shape[-1])
    for i in range(len(plan.convs)):
        x = _level(plan, i, x)
    assert plan.head is not None
    y = _run(plan.head, x, t._lengths[0], plan.grad)[0]                  # 0.5 (head + 1)
    if t.linear_shortcut:
        half = 0.5 * t.dec_linear.weight
        y = y.addmm_(half, z) if not plan.grad and y.is_contiguous() else y.addmm(half, z)
    return y


def _activation_(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply an activation module from ``make_activation`` in place."""
    if isinstance(module, nn.GELU):
        return torch._C._nn.gelu_(x, approximate=module.approximate)
    if isinstance(module, nn.ReLU):
        return x.relu_()
    if isinstance(module, nn.SiLU):
        return F.silu(x, inplace=True)
    if isinstance(module, nn.LeakyReLU):
        return F.leaky_relu_(x, module.negative_slope)
    if isinstance(module, nn.Identity):
        return x
    return x.copy_(module(x))


class _DecodeBuffers:
    """Per-call work buffers of the inference decoder, reused by every pixel chunk.

    Fresh large allocations cost page faults on every chunk; reusing a few buffers
    and writing results straight into the (zero-edged) padded input of the next
    convolution removes the padding, interleaving and output copies of the
    differentiable path.
    """

    def __init__(self, t: HydraTeacher, plan: _Plan, step: int, like: torch.Tensor) -> None:
        self.inputs: list[torch.Tensor] = []     # padded inputs of each conv (+ head)
        self.outputs: list[torch.Tensor] = []    # conv outputs (phase-major when up)
        convs = [*plan.convs, plan.head]
        c_in = t.channels[-1]
        length = t._lengths[-1]
        outs = [*plan.lengths[1:], t._lengths[0]]
        for conv, n_out in zip(convs, [plan.lengths[0], *outs]):
            assert conv is not None
            buf = like.new_empty(c_in, conv.left + length + conv.right, step)
            buf[:, :conv.left].zero_()
            buf[:, conv.left + length:].zero_()
            self.inputs.append(buf)
            if conv.up:
                self.outputs.append(like.new_empty(2, conv.c_out, length, step))
            else:
                self.outputs.append(like.new_empty(1, conv.c_out, length, step))
            c_in, length = conv.c_out, n_out


def _conv_into(conv: _Conv, xp: torch.Tensor, y: torch.Tensor, m: int, pixels: int,
               bias: bool = True) -> None:
    """Run a prepared conv on padded ``xp[..., :pixels]`` into phase-major ``y``.

    ``y`` is ``(phases, C_out, M, step)``; with the phases stacked on the output-channel
    axis the polyphase convolution is one GEMM per tap, ``(2 C_out, C_in) @ (C_in, M P)``.
    ``bias=False`` leaves the bias out (the caller adds it).
    """
    xp = xp[..., :pixels]
    b = conv.bias if bias else None
    if not conv.shifted:
        res = F.conv2d(xp.unsqueeze(0), conv.weight, b)[0]
        y[..., :pixels].copy_(res.view(y.shape[0], conv.c_out, m, pixels))
        return
    whole = pixels == y.shape[-1]
    target = y.view(y.shape[0] * conv.c_out, m * pixels) if whole else None
    acc = _shifted_conv(xp, conv.weight, b, m, out=target)
    if not whole:
        y[..., :pixels].copy_(acc.view(y.shape[0], conv.c_out, m, pixels))


def _phase_rows(n: int) -> tuple[int, int]:
    """Valid rows of phases 0 and 1 for an upsampled length ``n``."""
    return (n + 1) // 2, n // 2


def _crop_correct(conv: _Conv, x_last: torch.Tensor, y: torch.Tensor, length: int,
                  pixels: int) -> None:
    """Remove the cropped-sample contributions from phase-major ``y`` (:func:`_crop_terms`)."""
    first, corr = _crop_terms(conv, x_last[:, :pixels], length)
    for j, n in enumerate(range(first, length)):
        y[n % 2, :, n // 2, :pixels] -= corr[:, j]


def _decode_inference(t: HydraTeacher, z: torch.Tensor, out: torch.Tensor,
                      plan: _Plan, step: int) -> None:
    """No-grad decoder of band-major codes ``z (latent, P)`` into ``out (bands, P)``."""
    bufs = _DecodeBuffers(t, plan, min(step, z.shape[-1]), z)
    convs = [*plan.convs, plan.head]
    outs = [*plan.lengths, t._lengths[0]]   # output length of each conv (+ head)
    c0, l0 = t.channels[-1], t._lengths[-1]
    # The codes get a row of ones, so the biases of from_latent and of the head ride in
    # their GEMMs: ``addmm`` with a bias first copies it over the whole output (a pass
    # over the largest buffers, ~5 % of the decoder's time at 202 bands).
    codes = z.new_empty(z.shape[0] + 1, min(step, z.shape[-1]))
    codes[-1].fill_(1.0)
    w_lat = torch.cat([t.from_latent.weight.view(c0, l0, -1),
                       t.from_latent.bias.view(c0, l0, 1)], dim=2)
    head = convs[-1]
    assert head is not None
    # the shortcut's weights per output phase, with the head's bias as the last column
    head_bias = head.bias if t.linear_shortcut and head.shifted else None
    fold = head_bias is not None
    half: list[torch.Tensor] | None = None
    if t.linear_shortcut:
        w_half = 0.5 * t.dec_linear.weight
        rows_w = [w_half[r::2] for r in range(2)] if head.up else [w_half]
        half = [torch.cat([w, (w.new_zeros(()) if head_bias is None else head_bias[r]).expand(
            w.shape[0], 1)], dim=1) for r, w in enumerate(rows_w)]
    for start in range(0, z.shape[-1], step):
        pixels = min(step, z.shape[-1] - start)
        zc = codes[:, :pixels]
        zc[:-1].copy_(z[:, start:start + pixels])
        xp = bufs.inputs[0]
        left = convs[0].left
        for c in range(c0):  # from_latent, written into the padded input of level 0
            dest = xp[c, left:left + l0, :pixels]
            if pixels == xp.shape[-1]:
                torch.mm(w_lat[c], zc, out=dest)
            else:
                dest.copy_(torch.mm(w_lat[c], zc))
        _activation_(t.latent_act, xp[:, left:left + l0, :pixels])
        m = l0
        for i, conv in enumerate(convs):
            assert conv is not None
            y = bufs.outputs[i]
            n_out = outs[i]
            last_conv = i == len(convs) - 1
            _conv_into(conv, bufs.inputs[i], y, m, pixels, bias=not (last_conv and fold))
            if conv.up and n_out == 2 * m - 1:
                last = bufs.inputs[i][:, conv.left + m - 1]
                _crop_correct(conv, last, y, n_out, pixels)
            rows = _phase_rows(n_out) if conv.up else (m,)
            if last_conv:  # head: add the linear shortcut (+ bias), write the output
                dest_all = out[:, start:start + pixels]
                for r, n_r in enumerate(rows):
                    phase = y[r, 0, :n_r, :pixels]
                    dest = dest_all[r::2] if conv.up else dest_all
                    if half is not None:  # into the cache-warm phase, then one copy out
                        phase.addmm_(half[r], zc)
                    dest.copy_(phase)
                break
            act = plan.acts[i]
            fc1, fc2 = plan.ses[i]
            _activation_(act, y[..., :pixels])
            views = [y[r, :, :n_r, :pixels] for r, n_r in enumerate(rows)]
            # one reduction per phase: a single sum over dims (0, 2) of the phase-major
            # map is ~9x slower on CPU (strided reduction); the views drop cropped rows
            total = views[0].sum(dim=1)
            for v in views[1:]:
                total += v.sum(dim=1)
            squeeze = total.div_(n_out)
            hidden = F.relu(torch.addmm(fc1.bias.unsqueeze(1), fc1.weight, squeeze))
            gate = torch.sigmoid(torch.addmm(fc2.bias.unsqueeze(1), fc2.weight, hidden))
            nxt = bufs.inputs[i + 1]
            off = convs[i + 1].left  # type: ignore[union-attr]
            for r, v in enumerate(views):
                target = nxt[:, off + r:off + n_out:2, :pixels] if conv.up else \
                    nxt[:, off:off + n_out, :pixels]
                torch.mul(v, gate.unsqueeze(1), out=target)
            m = n_out


Inference = Callable[["HydraTeacher", torch.Tensor, torch.Tensor, _Plan, int], None]


def _chunked(fn: Callable[..., torch.Tensor], plan_fn: Callable[[HydraTeacher, bool], _Plan],
             t: HydraTeacher, x: torch.Tensor, n_out: int,
             inference: Inference | None = None) -> torch.Tensor:
    """Apply ``fn`` to pixel chunks of a band-major ``(n_in, P)`` tensor.

    Without gradients, ``inference`` (if given) writes the whole result into a
    preallocated output instead.
    """
    pixels = x.shape[-1]
    grad = _grad(t, x)
    plan = plan_fn(t, grad)
    step = _step(t)
    if inference is not None and not grad:
        out = x.new_empty(n_out, pixels)
        inference(t, x, out, plan, _balanced(step, pixels))
        return out
    if pixels <= step:
        return fn(t, x, plan)
    parts = range(0, pixels, step)
    if grad:
        return torch.cat([fn(t, x[:, i:i + step], plan) for i in parts], dim=1)
    out = x.new_empty(n_out, pixels)
    for i in parts:
        out[:, i:i + step] = fn(t, x[:, i:i + step], plan)
    return out


def _apply(fn: Callable[..., torch.Tensor], plan_fn: Callable[[HydraTeacher, bool], _Plan],
           t: HydraTeacher, x: torch.Tensor, n_out: int,
           inference: Inference | None = None) -> torch.Tensor:
    if x.ndim == 2:  # (N, n_in) spectra: band-major is the transpose
        return _chunked(fn, plan_fn, t, x.t(), n_out, inference).t()
    n, c, h, w = x.shape
    if n == 1:
        return _chunked(fn, plan_fn, t, x.reshape(c, h * w), n_out,
                        inference).view(1, n_out, h, w)
    flat = x.permute(1, 0, 2, 3).reshape(c, n * h * w)
    out = _chunked(fn, plan_fn, t, flat, n_out, inference)
    return out.view(n_out, n, h, w).permute(1, 0, 2, 3).contiguous()


def encode(t: HydraTeacher, cube: torch.Tensor) -> torch.Tensor:
    """Fast :meth:`HydraTeacher.encode` for ``(N, bands)`` or ``(N, bands, H, W)``.

    Input checks are done by the caller (:meth:`HydraTeacher.encode`).

    Examples
    --------
    >>> from specrecon.models.teacher import HydraTeacher
    >>> t = HydraTeacher(202, 17, (4, 8, 8), linear_shortcut=True)
    >>> x = torch.rand(1, 202, 6, 5)
    >>> bool(torch.allclose(encode(t, x), t.encode(x, kernel="reference"), atol=1e-5))
    True
    """
    return _apply(encode_chunk, _encoder_plan, t, cube, t.latent)


def decode(t: HydraTeacher, latent: torch.Tensor) -> torch.Tensor:
    """Fast :meth:`HydraTeacher.decode` for ``(N, latent)`` or ``(N, latent, H, W)``.

    Examples
    --------
    >>> from specrecon.models.teacher import HydraTeacher
    >>> t = HydraTeacher(202, 17, (4, 8, 8))
    >>> z = torch.randn(3, 17)
    >>> bool(torch.allclose(decode(t, z), t.decode(z, kernel="reference"), atol=1e-5))
    True
    """
    return _apply(decode_chunk, _decoder_plan, t, latent, t.bands, _decode_inference)


def _balanced(step: int, pixels: int) -> int:
    """The chunk size (a multiple of 64, at most ``step``) that splits ``pixels`` evenly.

    A 128 px tile (16,384 pixels) in chunks of 5,184 leaves a last chunk of 832 that pays
    each chunk's fixed cost for a sixth of the work; four chunks of 4,096 do not.
    """
    chunks = -(-pixels // step)
    return min(step, -(-pixels // (chunks * 64)) * 64)


def _step(t: HydraTeacher) -> int:
    widest = max(max(t.channels), 2) * t.bands
    return max(64, (t.fast_chunk_elements // widest) // 64 * 64)
