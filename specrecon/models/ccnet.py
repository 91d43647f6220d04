"""CCNet (Feng et al., "Unleashing Correlation and Continuity for Hyperspectral
Reconstruction from RGB Images", IEEE 2025), written from the paper's description.

Structure
---------
``x = Conv3x3(rgb)`` to ``dim`` channels; ``units`` Spectrum Reconstruction Units (SRU)
in sequence; ``out = Conv3x3(h) + R(x)`` to ``bands`` channels (``R`` = identity when
``dim == bands``, else a 1x1 projection, so any band count works).

An SRU is a U-Net (as in MST++): a 3x3 embedding, ``len(blocks) - 1`` encoder levels of
CSRM blocks followed by a 4x4 stride-2 convolution doubling the channels, a bottleneck,
a decoder (2x2 transposed convolution halving the channels, concatenation with the
skip, 1x1 fusion, CSRM blocks), a 3x3 mapping and a residual to the unit's input.

A CSRM block (Customized Spectral Relationship Modeling) is::

    x = x + Proj(PAF(GrSCM(LN(x)), NeSCM(LN(x))))      # inter-spectral relationships
    x = x + FFN(LN(x))                                  # intra-spectral spatiality

- **GrSCM** (group-wise spectral correlation, eq. 3-4): the ``C`` channels of a level are
  split into ``groups`` groups; each group has its own linear ``Q, K, V`` maps
  (``C/k x C/k``, a grouped 1x1 convolution) and is split into ``n = C / dim`` heads of
  ``dim / groups`` channels. Channels are the tokens: ``Q`` and ``K`` are L2-normalised
  over the pixels and ``softmax(RSE + sigma * K^T Q) V`` is computed per (group, head),
  with a learnable relative spectrum encoding ``RSE`` (one ``d x d`` matrix per group and
  head) and a learnable ``sigma`` per group and head.
- **NeSCM** (neighbourhood-wise spectral continuity, eq. 5-7): the channels are viewed
  as ``n`` feature maps times a sequence of ``dim`` "bands". A window of ``window``
  neighbouring bands slides along the sequence (zero padded at both ends) and feeds a
  Continuous Memory Unit recursively, forwards and backwards: forget gate
  ``s_t = sigmoid(Conv3D_1x1x1([m_{t-1}, x_t]))``, memory
  ``m_t = s_t m_{t-1} + (1 - s_t) x_t``, progressive feature
  ``y_t = Conv3D_{window x 3 x 3}(tanh(m_t) + x_t)`` (one band per step). The two
  branches' ``dim`` progressive features are concatenated and fused by a 1x1 convolution.
- **PAF** (patch-wise adaptive fusion, eq. 8-13): the SIA module compresses each group
  of the progressive features by channel mean and max and a 3x3 convolution to one map
  per group (``F_cp``, ``k`` maps); ``F_att`` and ``F_cp`` are mapped by 1x1 convolutions
  and cut into ``r x r`` patches; every channel patch of ``F_att`` attends (cosine
  similarity, softmax over the ``k`` maps) to the ``k`` patches of ``F_cp`` at the same
  place and adds their weighted sum: ``F_out = F_att + sum_j w(i, j) F_cp(j)``.
  ``r`` = ``patch`` at full resolution, halved at every downsampling (paper: 16).

Choices the paper leaves open (all are configuration fields)
------------------------------------------------------------
- Number of CSRM blocks per level: not given. ``blocks=(1, 1, 1)`` (two downsamplings, one
  block per level) as in MST++, which CCNet compares with at equal parameter count
  (1.61 M vs 1.62 M); the paper-scale configs land near that count.
- FFN: "the FFN within the Transformer architecture"; the MST++/Restormer form is used
  (1x1 expand by ``ffn_mult``, GELU, depth-wise 3x3, GELU, 1x1).
- NeSCM window ``s``: not given; 3 (one neighbour on each side). The 3-D output
  convolution with an ``s x 3 x 3`` kernel and no padding along the bands is computed as
  the equivalent 2-D convolution over the ``n * s`` stacked channels; the initial memory
  is zero. Fusion of the two branches: a 1x1 convolution of their concatenation.
- GrSCM output: the groups are concatenated; since neither grouped attention nor PAF
  mixes information across groups, a 1x1 output projection follows the fusion (as the
  output projection of multi-head attention).
- PAF: the softmax over cosine similarities in [-1, 1] is nearly uniform; a learnable
  temperature (initialised to 1, i.e. the paper's plain softmax) is added. SIA's "2D CNN"
  is a 3x3 convolution per group. The values fused into ``F_att`` are the 1x1-mapped
  ``F_cp`` patches; the residual uses the unmapped ``F_att``.
- Loss (eq. 14-16): MRAE + ``diff_weight`` x spectral-difference loss (paper: 0.1). The
  training loop adds :meth:`CCNet.auxiliary_loss` to its loss; for many bands the
  ``C^2`` band pairs are costly, ``diff_max_offset`` limits the pairs to bands at most
  that far apart (``None`` = all pairs, as in the paper).
- The paper's multi-scale test-time ensemble is not part of the model.

Tiling caveat
-------------
GrSCM attends over all pixels of its input (like MST++) and PAF's patch grid starts at
the input's corner, so the output depends on the tile it sees.

Examples
--------
>>> import torch
>>> m = CCNet(CCNetConfig(bands=31, dim=8, units=1, groups=2, patch=4))
>>> m(torch.rand(1, 3, 20, 24)).shape
torch.Size([1, 31, 20, 24])
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from specrecon.errors import ConfigError, format_message
from specrecon.models.layers import (
    LayerNorm2d,
    ReconstructionModel,
    UNetBody,
    check_rgb,
    crop_to,
    pad_to_multiple,
)

__all__ = ["CCNetConfig", "CCNet", "GrSCM", "NeSCM", "PAF", "spectral_difference_loss",
           "DEFAULT_CONFIGS"]


@dataclass(frozen=True)
class CCNetConfig:
    """Architecture (and loss weight) of a CCNet model.

    Parameters
    ----------
    bands : int
        Output bands.
    dim : int
        ``C_in``: channels at full resolution (paper: 32); every level uses
        ``n = C / dim`` heads and NeSCM sequences of ``dim`` bands.
    units : int
        Spectrum Reconstruction Units in sequence (paper: ``m = 3``).
    blocks : tuple of int
        CSRM blocks per encoder level, then the bottleneck (decoder mirrors the encoder).
    groups : int
        ``k``: GrSCM / SIA groups (paper: 4); must divide ``dim``.
    window : int
        NeSCM sliding-window size ``s`` along the band sequence (odd).
    patch : int
        PAF patch size ``r`` at full resolution (paper: 16), halved per level.
    ffn_mult : int
        FFN expansion.
    diff_weight : float
        Weight ``gamma`` of the spectral-difference loss (paper: 0.1; 0 disables it).
    diff_max_offset : int or None
        Use only band pairs at most this far apart in that loss (``None``: all pairs).

    Examples
    --------
    >>> CCNetConfig(bands=31).units
    3
    """

    bands: int
    dim: int = 32
    units: int = 3
    blocks: tuple[int, ...] = (1, 1, 1)
    groups: int = 4
    window: int = 3
    patch: int = 16
    ffn_mult: int = 4
    diff_weight: float = 0.1
    diff_max_offset: int | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
        ok = (isinstance(self.bands, int) and self.bands >= 1 and self.dim >= 1
              and self.units >= 1 and len(self.blocks) >= 1 and min(self.blocks) >= 1
              and self.groups >= 1 and self.dim % self.groups == 0
              and self.window >= 1 and self.window % 2 == 1 and self.patch >= 1
              and self.ffn_mult >= 1 and self.diff_weight >= 0
              and (self.diff_max_offset is None or self.diff_max_offset >= 1))
        if not ok:
            raise ConfigError(format_message(
                "positive bands/dim/units/blocks/patch/ffn_mult, groups dividing dim, an odd "
                "window, diff_weight >= 0", repr(self), "fix the CCNet configuration"))


def spectral_difference_loss(pred: torch.Tensor, target: torch.Tensor,
                             max_offset: int | None = None) -> torch.Tensor:
    """CCNet's spectral difference loss (eq. 15), averaged over pixels.

    ``(1/C) sum_i sum_{j != i} | |Y_i - Y_j| - |Yhat_i - Yhat_j| |`` per pixel, over the
    band axis (axis 1); with ``max_offset`` only pairs with ``|i - j| <= max_offset``.

    Examples
    --------
    >>> y = torch.rand(2, 5, 3, 3)
    >>> float(spectral_difference_loss(y, y))
    0.0
    >>> round(float(spectral_difference_loss(y + 1.0, y)), 5)  # an offset keeps differences
    0.0
    """
    c = pred.shape[1]
    top = c - 1 if max_offset is None else min(c - 1, max_offset)
    total = pred.new_zeros(())
    for d in range(1, top + 1):
        dp = (pred[:, d:] - pred[:, :-d]).abs()
        dt = (target[:, d:] - target[:, :-d]).abs()
        # each unordered pair appears twice in the ordered double sum
        total = total + 2.0 * (dp - dt).abs().sum(1).mean()
    return total / c


class GrSCM(nn.Module):
    """Group-wise spectral correlation modeling (channels are tokens, attention per group).

    Examples
    --------
    >>> GrSCM(16, head_dim=4, groups=2)(torch.rand(1, 16, 5, 6)).shape
    torch.Size([1, 16, 5, 6])
    """

    def __init__(self, channels: int, head_dim: int, groups: int) -> None:
        super().__init__()
        self.groups = groups
        self.head_dim = head_dim
        self.heads = channels // (groups * head_dim)  # heads per group
        self.qkv = nn.Conv2d(channels, 3 * channels, 1, groups=groups, bias=False)
        tokens = groups * self.heads
        self.sigma = nn.Parameter(torch.ones(tokens, 1, 1))
        self.rse = nn.Parameter(torch.zeros(tokens, head_dim, head_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        qkv = self.qkv(x).reshape(n, self.groups, 3, c // self.groups, h * w)
        q, k, v = qkv.unbind(2)  # (n, groups, c/groups, hw), each group's own linear map
        shape = (n, self.groups * self.heads, self.head_dim, h * w)
        q, k, v = q.reshape(shape), k.reshape(shape), v.reshape(shape)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = torch.softmax(self.rse + self.sigma * (k @ q.transpose(-2, -1)), dim=-1)
        return (attn @ v).reshape(n, c, h, w)


class NeSCM(nn.Module):
    """Neighbourhood-wise spectral continuity modeling: bidirectional CMU recursion.

    Examples
    --------
    >>> NeSCM(8, seq=4, window=3)(torch.rand(2, 8, 5, 6)).shape
    torch.Size([2, 8, 5, 6])
    """

    def __init__(self, channels: int, seq: int, window: int) -> None:
        super().__init__()
        self.seq = seq
        self.n = channels // seq
        self.window = window
        n = self.n
        # forget gates of the two branches: 1x1x1 conv of [m, x] (2n -> n channels)
        self.gate_m = nn.Parameter(torch.randn(2, n, n) * (1.0 / (2 * n) ** 0.5))
        self.gate_x = nn.Parameter(torch.randn(2, n, n) * (1.0 / (2 * n) ** 0.5))
        self.gate_b = nn.Parameter(torch.zeros(2, n))
        # output convolutions (window x 3 x 3 over n channels -> n), one per branch
        self.out_fwd = nn.Conv2d(n * window, n, 3, padding=1)
        self.out_bwd = nn.Conv2d(n * window, n, 3, padding=1)
        self.fuse = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        n, L, s = self.n, self.seq, self.window
        seq = x.reshape(b, n, L, h, w)
        pad = s // 2
        padded = F.pad(seq, (0, 0, 0, 0, pad, pad))
        win = padded.unfold(2, s, 1)  # (b, n, L, h, w, s)
        win = win.permute(2, 0, 1, 5, 3, 4)  # (L, b, n, s, h, w)
        both = torch.stack([win, win.flip(0)], dim=1)  # (L, 2, b, n, s, h, w)
        gx = torch.einsum("rij,trbjshw->trbishw", self.gate_x, both) \
            + self.gate_b[None, :, None, :, None, None, None]
        xs, gxs = both.unbind(0), gx.unbind(0)  # unbind: cheap backward (no zero-filled grads)
        mem = torch.zeros_like(xs[0])
        outs = []
        for t in range(L):
            if n == 1:
                mix = self.gate_m.reshape(2, 1, 1, 1, 1, 1) * mem
            else:
                mix = torch.einsum("rij,rbjshw->rbishw", self.gate_m, mem)
            gate = torch.sigmoid(mix + gxs[t])
            mem = gate * mem + (1.0 - gate) * xs[t]
            outs.append(torch.tanh(mem) + xs[t])
        u = torch.stack(outs, 0)  # (L, 2, b, n, s, h, w)
        fwd = self.out_fwd(u[:, 0].reshape(L * b, n * s, h, w)).reshape(L, b, n, h, w)
        bwd = self.out_bwd(u[:, 1].reshape(L * b, n * s, h, w)).reshape(L, b, n, h, w)
        bwd = bwd.flip(0)
        fwd = fwd.permute(1, 2, 0, 3, 4).reshape(b, c, h, w)
        bwd = bwd.permute(1, 2, 0, 3, 4).reshape(b, c, h, w)
        return self.fuse(torch.cat([fwd, bwd], dim=1))


class PAF(nn.Module):
    """Patch-wise adaptive fusion of GrSCM features with NeSCM's progressive features.

    Examples
    --------
    >>> paf = PAF(8, groups=2, patch=2)
    >>> paf(torch.rand(1, 8, 4, 6), torch.rand(1, 8, 4, 6)).shape
    torch.Size([1, 8, 4, 6])
    """

    def __init__(self, channels: int, groups: int, patch: int) -> None:
        super().__init__()
        self.groups = groups
        self.patch = patch
        self.sia = nn.Conv2d(2 * groups, groups, 3, padding=1, groups=groups)
        self.map_att = nn.Conv2d(channels, channels, 1)
        self.map_cp = nn.Conv2d(groups, groups, 1)
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, att: torch.Tensor, prog: torch.Tensor) -> torch.Tensor:
        b, c, h, w = att.shape
        k, r = self.groups, self.patch
        g = prog.reshape(b, k, c // k, h, w)
        pooled = torch.stack([g.mean(2), g.amax(2)], dim=2).reshape(b, 2 * k, h, w)
        cp = self.map_cp(self.sia(pooled))  # (b, k, h, w)
        a = self.map_att(att)
        ph, pw = h // r, w // r

        def patches(t: torch.Tensor) -> torch.Tensor:  # (b, ch, h, w) -> (b, P, ch, r*r)
            ch = t.shape[1]
            t = t.reshape(b, ch, ph, r, pw, r).permute(0, 2, 4, 1, 3, 5)
            return t.reshape(b, ph * pw, ch, r * r)

        pa, pc = patches(a), patches(cp)
        sim = F.normalize(pa, dim=-1) @ F.normalize(pc, dim=-1).transpose(-2, -1)
        fused = torch.softmax(self.scale * sim, dim=-1) @ pc  # (b, P, c, r*r)
        fused = fused.reshape(b, ph, pw, c, r, r).permute(0, 3, 1, 4, 2, 5).reshape(b, c, h, w)
        return att + fused


class _FFN(nn.Module):
    def __init__(self, dim: int, mult: int) -> None:
        super().__init__()
        hidden = dim * mult
        self.net = nn.Sequential(
            nn.Conv2d(dim, hidden, 1, bias=False), nn.GELU(),
            nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden, bias=False), nn.GELU(),
            nn.Conv2d(hidden, dim, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CSRMBlock(nn.Module):
    """``x + Proj(PAF(GrSCM(LN x), NeSCM(LN x)))`` then ``x + FFN(LN x)``.

    Examples
    --------
    >>> CSRMBlock(8, 8, groups=2, window=3, patch=2, ffn_mult=2)(torch.rand(1, 8, 4, 4)).shape
    torch.Size([1, 8, 4, 4])
    """

    def __init__(self, channels: int, dim: int, groups: int, window: int, patch: int,
                 ffn_mult: int) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(channels)
        self.grscm = GrSCM(channels, dim // groups, groups)
        self.nescm = NeSCM(channels, dim, window)
        self.paf = PAF(channels, groups, patch)
        self.proj = nn.Conv2d(channels, channels, 1)
        self.norm2 = LayerNorm2d(channels)
        self.ffn = _FFN(channels, ffn_mult)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm1(x)
        x = x + self.proj(self.paf(self.grscm(y), self.nescm(y)))
        return x + self.ffn(self.norm2(x))


class _Unit(UNetBody):
    """One Spectrum Reconstruction Unit (U-Net of CSRM blocks, ``dim -> dim``)."""

    def __init__(self, c: CCNetConfig) -> None:
        def stage(ch: int, n: int, level: int) -> nn.Sequential:
            r = max(1, c.patch >> level)
            return nn.Sequential(*[CSRMBlock(ch, c.dim, c.groups, c.window, r, c.ffn_mult)
                                   for _ in range(n)])

        super().__init__(c.dim, c.blocks, stage)


class CCNet(ReconstructionModel):
    """Correlation and Continuity Network for RGB -> spectrum reconstruction.

    Parameters
    ----------
    config : CCNetConfig
    name : str, optional

    Examples
    --------
    >>> m = CCNet(CCNetConfig(bands=202, dim=8, units=1, groups=2, patch=4))
    >>> m(torch.rand(1, 3, 9, 10)).shape
    torch.Size([1, 202, 9, 10])
    """

    family = "ccnet"

    def __init__(self, config: CCNetConfig, name: str | None = None) -> None:
        super().__init__(config, name)
        c = config
        self.conv_in = nn.Conv2d(3, c.dim, 3, padding=1, bias=False)
        self.body = nn.Sequential(*[_Unit(c) for _ in range(c.units)])
        self.conv_out = nn.Conv2d(c.dim, c.bands, 3, padding=1, bias=False)
        self.residual: nn.Module = (nn.Identity() if c.bands == c.dim
                                    else nn.Conv2d(c.dim, c.bands, 1, bias=False))
        levels = len(c.blocks) - 1
        # every level's side must be a multiple of its PAF patch (patch >> level)
        self.multiple = max(2 ** levels, c.patch, 1)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``(N, bands, H, W)`` from ``(N, 3, H, W)`` for any ``H, W``."""
        check_rgb(rgb)
        x, size = pad_to_multiple(rgb, self.multiple)
        x = self.conv_in(x)
        out = self.conv_out(self.body(x)) + self.residual(x)
        return crop_to(out, size)

    def auxiliary_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``diff_weight x`` :func:`spectral_difference_loss` (added to the training loss).

        Examples
        --------
        >>> m = CCNet(CCNetConfig(bands=4, dim=4, units=1, groups=2, patch=2))
        >>> float(m.auxiliary_loss(torch.ones(1, 4, 2, 2), torch.ones(1, 4, 2, 2)))
        0.0
        """
        c = self.config
        if c.diff_weight == 0:
            return pred.new_zeros(())
        return c.diff_weight * spectral_difference_loss(pred, target, c.diff_max_offset)


def _configs() -> dict[str, CCNetConfig]:
    out: dict[str, CCNetConfig] = {}
    for bands in (31, 202):
        # 202 bands: pairs up to 16 bands apart in the difference loss (all 20k pairs
        # would dominate the step time); 31 bands: all pairs as in the paper.
        off = None if bands <= 64 else 16
        out[f"ccnet-tiny-{bands}"] = CCNetConfig(bands=bands, dim=8, units=1, blocks=(1, 1),
                                                 groups=2, patch=4, ffn_mult=1,
                                                 diff_max_offset=off)
        out[f"ccnet-small-{bands}"] = CCNetConfig(bands=bands, dim=16, units=1,
                                                  blocks=(1, 1, 1), groups=4, patch=16,
                                                  ffn_mult=2, diff_max_offset=off)
        out[f"ccnet-{bands}"] = CCNetConfig(bands=bands, diff_max_offset=off)
    return out


#: Named configurations registered by :mod:`specrecon.models.registry`.
DEFAULT_CONFIGS: dict[str, CCNetConfig] = _configs()
