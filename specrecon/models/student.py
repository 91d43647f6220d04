"""HYDRA student: a 4-level U-Net of channel-attention transformer blocks (section 3.2).

RGB ``(N, 3, H, W)`` -> latent ``(N, latent, H, W)``:

- ``X0 = Conv3x3(I)`` with ``C`` channels;
- encoder levels ``l = 1..3``: transformer blocks at ``2**(l-1) C`` channels, then a
  stride-2 downsampling (``Conv3x3`` + ``PixelUnshuffle``) to ``2**l C`` channels at half
  resolution; level 4 (the bottleneck) runs its blocks at ``8 C``;
- decoder: upsample (``Conv3x3`` + ``PixelShuffle``) back to the encoder level's
  channels, *add* the skip connection (paper: ``Y~(X~l) + Xl = X~(l-1)``, eq. 12), run
  the decoder blocks of that level;
- output (eq. 3): ``S~ = P(X0) + Conv(X~0)``. ``X0`` has ``C`` channels while the latent
  has ``latent``, so ``P`` is a 1x1 projection ``C -> latent`` (the identity would
  only type-check when ``C == latent``); it keeps the long residual of eq. 3.

A transformer block is ``x = MDTA(x)`` then ``x = DGDFN(x)``, each pre-normalised and
residual (eq. 8, 11).

The input is padded (reflect) to a multiple of 8 and the output cropped back, so any
``H, W`` works.

Fast path
---------
``forward`` runs a fast path by default (``kernel="fast"``) that computes the same
function as the straightforward one (``kernel="reference"``, kept as the oracle of
``tests/models/test_student_kernels.py``):

- activations in ``channels_last`` memory format: oneDNN's depth-wise 3x3 convolution
  is about 15x faster on CPU in that layout than in NCHW (measured, see
  ``benchmarks/results/profile_parts.md``), and 1x1 convolutions become plain matrix
  products over the ``(pixels, channels)`` view;
- the layer norm folded into the 1x1 convolution after it: the norm's gain scales the
  weight's columns, its shift becomes a bias, and each pixel's mean and variance are two
  products with an averaging vector, so the normalised map is never written (at 8-12
  channels :func:`torch.nn.functional.layer_norm` alone took longer than the convolution);
- the stride-2 downsampling (3x3 convolution + pixel unshuffle) as one stride-2 4x4
  convolution where the 3x3 convolution has fewer than 16 outputs;
- the 1x1 skip of the output (eq. 3) added in place into the 3x3 convolution's result, and
  each block's residual added in place over an input nothing else holds;
- the folded weights kept between calls (:func:`_derived`; rebuilt when a parameter changes),
  and both attention norms taken in one pass;
- these and the feed-forward's fused residual (below) at inference only: with gradients
  the operations of the earlier fast path run, so training is unchanged;
- MDTA without normalising ``Q`` and ``K``: the ``(c x c)`` Gram matrix of the raw
  ``Q, K`` is divided by the outer product of their norms (the same cosine
  similarities), and the attention, the value product and the output projection are
  folded into one ``(c x c)`` matrix per image applied to ``V`` in a single product
  that also adds the residual (the feed-forward's projection likewise).

Note that MDTA normalises and attends over all pixels of its input: the result for a pixel
depends on the tile it is seen in.

Examples
--------
>>> import torch
>>> s = HydraStudent(latent=6, dim=4, blocks=(1, 1, 1, 1), heads=(1, 1, 2, 2))
>>> s(torch.rand(1, 3, 20, 24)).shape
torch.Size([1, 6, 20, 24])
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from specrecon.errors import ConfigError, format_message
from specrecon.models.layers import (
    KERNELS,
    LayerNorm2d,
    autocast_enabled,
    check_kernel,
    check_rgb,
    crop_to,
    pad_to_multiple,
)

__all__ = ["MDTA", "DGDFN", "TransformerBlock", "HydraStudent", "STUDENT_KERNELS"]

#: Implementations of :meth:`HydraStudent.forward`: ``"fast"`` (default) and
#: ``"reference"`` (the oracle).
STUDENT_KERNELS: tuple[str, ...] = KERNELS


def _pixels(x: torch.Tensor) -> torch.Tensor:
    """``(N, H, W, C)`` view of a ``channels_last`` ``(N, C, H, W)`` tensor (no copy)."""
    return x.permute(0, 2, 3, 1)


def _nchw(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`_pixels`: ``(N, H, W, C)`` -> ``channels_last`` ``(N, C, H, W)``."""
    return x.permute(0, 3, 1, 2)


def _pointwise(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """A 1x1 convolution as a matrix product on the channels-last view."""
    return _nchw(F.linear(_pixels(x), conv.weight[:, :, 0, 0], conv.bias))


def _training(x: torch.Tensor, *modules: nn.Module) -> bool:
    """Whether autograd records this call (``x`` or the modules' parameters need gradients).

    The inference-only rewrites below are skipped then: with gradients the previous
    operations run unchanged, so training computes bit for bit what it computed before
    them (a satellite recipe retrained from scratch after the change gave byte-identical
    weights) and its speed is unchanged (the folded layer norm's backward made a training
    step 5-10 % slower, measured).
    """
    return torch.is_grad_enabled() and (x.requires_grad or any(
        p.requires_grad for m in modules for p in m.parameters()))


def _derived(owner: nn.Module, make: Callable[[], tuple[torch.Tensor, ...]],
             *sources: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
    """Tensors the inference path derives from parameters, computed once and kept on ``owner``.

    Folded weights are otherwise rebuilt on every call (140 of the student's ~690
    operations per forward). They are rebuilt whenever one of the ``sources`` (the
    parameters they come from) is replaced or changed in place -- its storage or its
    version counter moves, as under an optimiser step, ``load_state_dict`` or ``.to()`` --
    so no stale copy survives training or loading weights. While autograd records (a
    source requires gradients) nothing is cached and ``make`` runs as part of the graph.
    """
    if torch.is_grad_enabled() and any(p is not None and p.requires_grad for p in sources):
        return make()  # autograd must see the derivation: nothing cached while training
    stamp = tuple((p.data_ptr(), p._version, p.dtype) for p in sources if p is not None)
    cached = owner.__dict__.get("_derived_cache")
    if cached is not None and cached[0] == stamp:
        return cached[1]  # type: ignore[no-any-return]
    first = next(p for p in sources if p is not None)
    # in the parameters' own dtype even under autocast, usable outside inference mode
    no_autocast = (torch.autocast(first.device.type, enabled=False) if autocast_enabled(first)
                   else contextlib.nullcontext())
    with torch.inference_mode(False), torch.no_grad(), no_autocast:
        value = make()
        # the sources' storage stays referenced while cached, so no new parameter storage
        # (after `.to()` and back, say) can reuse an address in the stamp
        keep = tuple(p.detach() for p in sources if p is not None)
    owner.__dict__["_derived_cache"] = (stamp, value, keep)
    return value


def _pointwise_t(conv: nn.Conv2d) -> torch.Tensor:
    """A 1x1 convolution's ``(C_in, C_out)`` matrix, kept between calls (:func:`_derived`)."""
    weight_t, = _derived(conv, lambda: (conv.weight[:, :, 0, 0].t(),), conv.weight)
    return weight_t


def _norm_pointwise(x: torch.Tensor, norm: LayerNorm2d, conv: nn.Conv2d) -> torch.Tensor:
    """``conv(norm(x))`` for a 1x1 ``conv``, with the norm's gain and shift folded into it.

    ``W (g * (x - mu) * r + b) = ((x - mu) @ (W diag(g))^T) * r + W b`` per pixel, with
    ``r = 1 / sqrt(var + eps)``: the normalised map is never written, and the per-pixel
    mean and variance are two matrix products with a ``(C, 1)`` averaging vector. At 8-12
    channels :func:`torch.nn.functional.layer_norm` over the channels-last view costs more
    than the 1x1 convolution after it (``benchmarks/results/profile_parts.md``). With
    gradients (:func:`_training`) the fused layer norm + product runs instead.
    """
    if _training(x, norm, conv):
        normed = F.layer_norm(_pixels(x), (x.shape[1],), norm.weight, norm.bias, norm.eps)
        return _pointwise(_nchw(normed), conv)
    n, c, h, w = x.shape

    def fold() -> tuple[torch.Tensor, ...]:
        weight = conv.weight[:, :, 0, 0]
        shift = weight @ norm.bias
        if conv.bias is not None:
            shift = shift + conv.bias
        return weight.new_full((c, 1), 1.0 / c), (weight * norm.weight).t(), shift

    avg, scaled_t, shift = _derived(conv, fold, conv.weight, conv.bias, norm.weight, norm.bias)
    p = _pixels(x).reshape(n * h * w, c)
    centred = p - p @ avg
    r = torch.rsqrt((centred * centred) @ avg + norm.eps)
    # scale the c_in-channel input by r, not the (wider) output: one pass fewer over it
    y = torch.addmm(shift, centred.mul_(r), scaled_t)
    return _nchw(y.view(n, h, w, -1))


def _dp_conv_fast(x: torch.Tensor, norm: LayerNorm2d, seq: nn.Sequential) -> torch.Tensor:
    """``seq(norm(x))`` for a :func:`_dp_conv` on a ``channels_last`` input."""
    point, depth = seq[0], seq[1]
    return depth(_norm_pointwise(x, norm, point).contiguous(memory_format=torch.channels_last))


def _down_fast(x: torch.Tensor, down: nn.Sequential) -> torch.Tensor:
    """``PixelUnshuffle(2)(Conv3x3(x))`` as one stride-2 4x4 convolution (``channels_last``).

    Output channel ``4 c + 2 dy + dx`` at ``(i, j)`` is the 3x3 convolution's channel ``c``
    at ``(2 i + dy, 2 j + dx)``, i.e. the 3x3 kernel placed at offset ``(dy, dx)`` inside a
    4x4 window that starts one pixel above-left of ``(2 i, 2 j)``. One dense convolution
    with four times the output channels replaces a convolution with few outputs and a
    shuffle pass (the input has even ``H, W``: padded to a multiple of 8). Used below 16
    output channels, where it measured faster; at 24 the plain pair was faster (1 thread,
    ``benchmarks/results/profile_parts.md``).
    """
    weight = down[0].weight                                    # (c_out, c_in, 3, 3)
    if weight.shape[0] >= 16 or _training(x, down):
        return down(x).contiguous(memory_format=torch.channels_last)

    def place() -> tuple[torch.Tensor, ...]:
        placed = [F.pad(weight, (dx, 1 - dx, dy, 1 - dy)) for dy in (0, 1) for dx in (0, 1)]
        return (torch.stack(placed, dim=1).flatten(0, 1),)     # (4 c_out, c_in, 4, 4)

    kernel, = _derived(down[0], place, weight)
    return F.conv2d(x, kernel, stride=2, padding=1).contiguous(memory_format=torch.channels_last)


def _output_fast(x0: torch.Tensor, h: torch.Tensor, skip: nn.Conv2d,
                 conv: nn.Conv2d) -> torch.Tensor:
    """``skip(x0) + conv(h)`` (eq. 3), the 1x1 skip added in place into the 3x3 output.

    Both biases go into the convolution and the skip projection is one ``addmm_`` on the
    convolution's channels-last pixel view, so no sum is allocated. Returns the
    ``channels_last`` result (inference only; not under autocast, whose products come back
    in another dtype).
    """
    def fold() -> tuple[torch.Tensor, ...]:
        bias = conv.bias if conv.bias is not None else conv.weight.new_zeros(conv.out_channels)
        if skip.bias is not None:
            bias = bias + skip.bias
        return bias, skip.weight[:, :, 0, 0].t()

    bias, skip_t = _derived(conv, fold, conv.weight, conv.bias, skip.weight, skip.bias)
    y = F.conv2d(h, conv.weight, bias, padding=conv.padding).contiguous(
        memory_format=torch.channels_last)
    n, c, hh, ww = y.shape
    _pixels(y).view(n * hh * ww, c).addmm_(_pixels(x0).reshape(n * hh * ww, x0.shape[1]), skip_t)
    return y


def _dp_conv(c_in: int, c_out: int, bias: bool) -> nn.Sequential:
    """``C_dp = H_d(H_p(x))``: point-wise 1x1 then depth-wise 3x3 convolution (eq. 6)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 1, bias=bias),
        nn.Conv2d(c_out, c_out, 3, padding=1, groups=c_out, bias=bias),
    )


class MDTA(nn.Module):
    """Multi-Dconv head transposed attention (eq. 4-8), pre-norm and residual.

    ``Q, K, V = C_dp(LN(x))``; per head, ``Q`` and ``K`` are L2-normalised over pixels
    and the ``(c x c)`` channel attention ``softmax(Q K^T * t)`` re-weights ``V``. The
    learnable temperature ``t`` (one per head) is the paper's ``1/alpha``: a
    multiplier is used instead of a divisor so it can never divide by zero. The output
    is ``H_p(A) + x`` (eq. 8).

    Parameters
    ----------
    dim : int
    heads : int
        Must divide ``dim``.
    bias : bool

    Examples
    --------
    >>> MDTA(8, 2)(torch.rand(1, 8, 5, 6)).shape
    torch.Size([1, 8, 5, 6])
    """

    def __init__(self, dim: int, heads: int, bias: bool = False) -> None:
        super().__init__()
        self.heads = heads
        self.norm = LayerNorm2d(dim)
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = _dp_conv(dim, 3 * dim, bias)
        self.proj = nn.Conv2d(dim, dim, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).chunk(3, dim=1)
        q = F.normalize(q.reshape(n, self.heads, c // self.heads, h * w), dim=-1)
        k = F.normalize(k.reshape(n, self.heads, c // self.heads, h * w), dim=-1)
        v = v.reshape(n, self.heads, c // self.heads, h * w)
        attn = torch.softmax((q @ k.transpose(-2, -1)) * self.temperature, dim=-1)
        out = (attn @ v).reshape(n, c, h, w)
        return self.proj(out) + x

    def forward_fast(self, x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        """Same function as :meth:`forward` on a ``channels_last`` input (module notes).

        ``inplace=True`` lets inference write the result over ``x`` (the residual sum
        then needs no copy of ``x``); ignored while autograd records.
        """
        n, c, h, w = x.shape
        d = c // self.heads
        qkv = _pixels(_dp_conv_fast(x, self.norm, self.qkv)).reshape(n, h * w, 3 * c)
        q, k, v = qkv[..., :c], qkv[..., c:2 * c], qkv[..., 2 * c:]
        eps = 1e-12  # F.normalize's default
        if _training(x, self):
            qn = q.pow(2).sum(1).sqrt().clamp_min(eps)               # (n, c)
            kn = k.pow(2).sum(1).sqrt().clamp_min(eps)
        else:  # both norms in one pass over the (q, k) columns
            qk = qkv[..., :2 * c]
            norms = (qk * qk).sum(1).sqrt_().clamp_min_(eps)
            qn, kn = norms[:, :c], norms[:, c:]
        gram = q.transpose(1, 2) @ k                                  # (n, c, c)
        if self.heads > 1:  # keep the per-head diagonal blocks
            gram = torch.diagonal(gram.view(n, self.heads, d, self.heads, d), dim1=1, dim2=3)
            gram = gram.permute(0, 3, 1, 2)                           # (n, heads, d, d)
            scale = (qn.view(n, self.heads, d, 1) * kn.view(n, self.heads, 1, d))
        else:
            gram = gram.view(n, 1, d, d)
            scale = qn.view(n, 1, d, 1) * kn.view(n, 1, 1, d)
        attn = torch.softmax(gram / scale * self.temperature, dim=-1)  # (n, heads, d, d)
        # out[p, hd+i] = sum_j attn[h, i, j] v[p, hd+j]; then proj: y = out @ Wp^T
        if self.heads == 1:
            blocks = attn.view(n, c, c)
        else:
            blocks = torch.stack([torch.block_diag(*a.unbind(0)) for a in attn])  # (n, c, c)
        proj_t = _pointwise_t(self.proj)
        mix = blocks.transpose(1, 2) @ proj_t
        residual = _pixels(x).reshape(n, h * w, c)
        # in place only where the product keeps the residual's dtype (not under autocast)
        same = residual.dtype == v.dtype == mix.dtype
        y = residual.baddbmm_(v, mix) if inplace and same and not _training(x, self) else \
            torch.baddbmm(residual, v, mix)
        if self.proj.bias is not None:
            y = y + self.proj.bias
        return _nchw(y.view(n, h, w, c))


class DGDFN(nn.Module):
    """Dual gated-dconv feed-forward network (eq. 9-11), pre-norm and residual.

    ``M1, M2 = split(C_dp(LN(x)))`` and ``Y = H_p(phi(M1) ⊙ M2 + phi(M2) ⊙ M1) + x``.

    Eq. 10 as printed adds the same product twice, ``(M1 ⊙ M2) + (M1 ⊙ M2)``, which
    is one gate scaled by 2 and makes the "dual" gate a no-op. We read it as the
    symmetric dual gate: each branch gates the other through the activation
    ``phi`` (GELU), so both halves get a non-linear gate and neither branch is
    privileged (Restormer's GDFN is the one-sided ``phi(M1) ⊙ M2``).

    Parameters
    ----------
    dim : int
    expansion : float
        Hidden width ``int(dim * expansion)`` per branch.
    bias : bool

    Examples
    --------
    >>> DGDFN(8, 2.0)(torch.rand(1, 8, 5, 6)).shape
    torch.Size([1, 8, 5, 6])
    """

    def __init__(self, dim: int, expansion: float = 2.0, bias: bool = False) -> None:
        super().__init__()
        hidden = max(1, int(dim * expansion))
        self.norm = LayerNorm2d(dim)
        self.gates = _dp_conv(dim, 2 * hidden, bias)
        self.proj = nn.Conv2d(hidden, dim, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m1, m2 = self.gates(self.norm(x)).chunk(2, dim=1)
        y = F.gelu(m1) * m2 + F.gelu(m2) * m1
        return self.proj(y) + x

    def forward_fast(self, x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        """Same function as :meth:`forward` on a ``channels_last`` input (``inplace`` as in
        :meth:`MDTA.forward_fast`)."""
        m = _pixels(_dp_conv_fast(x, self.norm, self.gates))  # (n, h, w, 2 hid)
        hid = m.shape[-1] // 2
        # GELU of the whole contiguous map: on the strided channel halves it is ~7x slower
        g = F.gelu(m)
        if _training(x, self):
            y = g[..., :hid] * m[..., hid:] + g[..., hid:] * m[..., :hid]
            return _nchw(F.linear(y, self.proj.weight[:, :, 0, 0], self.proj.bias) + _pixels(x))
        y = torch.addcmul(g[..., :hid] * m[..., hid:], g[..., hid:], m[..., :hid])
        n, h, w, _ = y.shape
        c = x.shape[1]
        proj_t = _pointwise_t(self.proj)
        # residual + projection in one product (x is channels_last: its pixel view is flat)
        residual = _pixels(x).reshape(n * h * w, c)
        same = residual.dtype == y.dtype == proj_t.dtype  # not under autocast
        out = residual.addmm_(y.view(n * h * w, hid), proj_t) if inplace and same else \
            torch.addmm(residual, y.view(n * h * w, hid), proj_t)
        if self.proj.bias is not None:
            out = out + self.proj.bias
        return _nchw(out.view(n, h, w, c))


class TransformerBlock(nn.Module):
    """MDTA followed by DGDFN (both residual).

    Examples
    --------
    >>> TransformerBlock(8, 2, 2.0)(torch.rand(1, 8, 4, 4)).shape
    torch.Size([1, 8, 4, 4])
    """

    def __init__(self, dim: int, heads: int, expansion: float, bias: bool = False) -> None:
        super().__init__()
        self.attn = MDTA(dim, heads, bias)
        self.ffn = DGDFN(dim, expansion, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ffn(self.attn(x))

    def forward_fast(self, x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        """:meth:`forward` through the blocks' fast paths (``channels_last`` input).

        ``inplace=True``: inference may overwrite ``x`` (:meth:`MDTA.forward_fast`); the
        feed-forward always writes over the attention's output, which nothing else holds.
        """
        return self.ffn.forward_fast(self.attn.forward_fast(x, inplace), inplace=True)


def _stack(dim: int, n: int, heads: int, expansion: float, bias: bool) -> nn.Sequential:
    return nn.Sequential(*[TransformerBlock(dim, heads, expansion, bias) for _ in range(n)])


class HydraStudent(nn.Module):
    """4-level transformer U-Net mapping RGB to the teacher's latent space.

    Parameters
    ----------
    latent : int
        Output channels (the teacher's latent size).
    dim : int
        ``C``, channels at full resolution (level ``l`` has ``2**l * C``).
    blocks : sequence of 4 int
        Transformer blocks per encoder level (the last is the bottleneck).
    heads : sequence of 4 int
        Attention heads per level; ``heads[l]`` must divide ``2**l * dim``.
    decoder_blocks : sequence of 3 int or None
        Blocks of decoder levels 3, 2, 1 (``None``: mirror ``blocks[2::-1]``).
    expansion : float
        DGDFN hidden-width factor.
    in_channels : int
        3 for RGB.
    bias : bool
        Biases in the attention / feed-forward convolutions.

    Examples
    --------
    >>> s = HydraStudent(latent=17, dim=4, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1))
    >>> s(torch.rand(2, 3, 9, 11)).shape
    torch.Size([2, 17, 9, 11])
    """

    levels = 4

    def __init__(self, latent: int, dim: int = 16, blocks: Sequence[int] = (1, 1, 2, 2),
                 heads: Sequence[int] = (1, 2, 4, 8), decoder_blocks: Sequence[int] | None = None,
                 expansion: float = 2.0, in_channels: int = 3, bias: bool = False) -> None:
        super().__init__()
        blocks, heads = tuple(blocks), tuple(heads)
        dec = tuple(decoder_blocks) if decoder_blocks is not None else blocks[2::-1]
        dims = [dim * 2 ** i for i in range(self.levels)]
        if len(blocks) != 4 or len(heads) != 4 or len(dec) != 3 or any(
                d % h for d, h in zip(dims, heads)) or min(blocks) < 1 or min(heads) < 1 \
                or dim < 2 or dim % 2:
            raise ConfigError(format_message(
                "an even dim (each downsampling halves the channels before a pixel "
                "unshuffle), 4 blocks, 4 heads (heads[l] dividing dim * 2**l) and 3 "
                "decoder_blocks",
                f"dim={dim}, blocks={blocks}, heads={heads}, decoder_blocks={dec}",
                "fix the student configuration"))
        self.in_channels = in_channels
        self.latent = latent
        self.embed = nn.Conv2d(in_channels, dim, 3, padding=1)
        self.encoder = nn.ModuleList(
            [_stack(dims[i], blocks[i], heads[i], expansion, bias) for i in range(3)])
        self.down = nn.ModuleList([
            nn.Sequential(nn.Conv2d(dims[i], dims[i] // 2, 3, padding=1, bias=False),
                          nn.PixelUnshuffle(2)) for i in range(3)])
        self.bottleneck = _stack(dims[3], blocks[3], heads[3], expansion, bias)
        self.up = nn.ModuleList([
            nn.Sequential(nn.Conv2d(dims[i + 1], dims[i] * 4, 3, padding=1, bias=False),
                          nn.PixelShuffle(2)) for i in range(3)])
        # decoder[i] runs at level i (dims[i]); dec lists levels 2, 1, 0
        self.decoder = nn.ModuleList(
            [_stack(dims[i], dec[2 - i], heads[i], expansion, bias) for i in range(3)])
        self.out_conv = nn.Conv2d(dim, latent, 3, padding=1)
        self.skip_proj = nn.Conv2d(dim, latent, 1)

        self.kernel = "fast"

    def forward(self, rgb: torch.Tensor, kernel: str | None = None) -> torch.Tensor:
        """Map ``(N, 3, H, W)`` to ``(N, latent, H, W)`` for any ``H, W``.

        ``kernel``: ``"fast"`` or ``"reference"`` (default :attr:`kernel`, ``"fast"``;
        see the module notes, "Fast path").
        """
        check_rgb(rgb, channels=self.in_channels)
        if check_kernel(self.kernel if kernel is None else kernel, "student") == "fast":
            return self._forward_fast(rgb)
        x, size = pad_to_multiple(rgb, 2 ** (self.levels - 1))
        x0 = self.embed(x)
        skips = []
        h = x0
        for enc, down in zip(self.encoder, self.down):
            h = enc(h)
            skips.append(h)
            h = down(h)
        h = self.bottleneck(h)
        for i in (2, 1, 0):
            h = self.decoder[i](self.up[i](h) + skips[i])
        out = self.skip_proj(x0) + self.out_conv(h)
        return crop_to(out, size)

    def _forward_fast(self, rgb: torch.Tensor) -> torch.Tensor:
        cl = torch.channels_last
        x, size = pad_to_multiple(rgb, 2 ** (self.levels - 1))
        x0 = self.embed(x.contiguous(memory_format=cl))
        skips = []
        h = x0
        for enc, down in zip(self.encoder, self.down):
            for block in enc:  # every block input but x0 (needed at the end) is expendable
                h = block.forward_fast(h, inplace=h is not x0)
            skips.append(h)
            h = _down_fast(h, down)
        for block in self.bottleneck:
            h = block.forward_fast(h, inplace=True)
        for i in (2, 1, 0):
            h = self.up[i](h).contiguous(memory_format=cl) + skips[i]
            for block in self.decoder[i]:
                h = block.forward_fast(h, inplace=True)
        # under autocast the products come back in lower precision: no in-place sum
        if autocast_enabled(x) or _training(h, self.out_conv, self.skip_proj):
            out = _pointwise(x0, self.skip_proj) + self.out_conv(h)
            return crop_to(out, size).contiguous()
        return crop_to(_output_fast(x0, h, self.skip_proj, self.out_conv), size).contiguous()
