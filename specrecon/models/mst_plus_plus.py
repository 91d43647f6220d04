"""MST++ (Cai et al., NTIRE 2022 spectral reconstruction winner), written from its description.

Structure (multi-stage spectral-wise transformer):

- ``x = Conv3x3(rgb)`` to ``n_feat`` channels;
- ``stages`` single-stage spectral transformers (SST) applied in sequence;
- ``out = Conv3x3(h) + R(x)`` to ``bands`` channels.

An SST is a U-Net: a 3x3 embedding, ``levels`` encoder levels (spectral-wise
attention blocks, then a 4x4 stride-2 convolution doubling channels), a bottleneck,
and a decoder (2x2 stride-2 transposed convolution halving channels, concatenation
with the encoder feature, 1x1 fusion, attention blocks), a 3x3 mapping and a
residual to the SST input.

A spectral-wise attention block (SAB) is ``x = S-MSA(x) + x``, ``x = FFN(LN(x)) + x``.
S-MSA treats each *channel* as a token: ``Q, K, V`` are linear maps of the pixels'
features, split into heads of ``head_dim`` channels; ``Q`` and ``K`` are L2-normalised
over pixels; the ``head_dim x head_dim`` attention ``softmax(K Q^T * sigma)``
(``sigma`` learnable per head) re-weights ``V``; a linear projection follows, plus a
positional embedding of ``V`` (depth-wise 3x3 conv, GELU, depth-wise 3x3 conv).
The FFN is 1x1 conv (``x ffn_mult``), GELU, depth-wise 3x3, GELU, 1x1 conv.

Any output band count
---------------------
The published network hard-codes 31 bands (``n_feat = bands = 31``, so the final
residual ``out + x`` type-checks). Here ``bands`` and ``n_feat`` are independent:
``R`` is the identity when they are equal and a 1x1 projection otherwise.

Examples
--------
>>> import torch
>>> m = MSTPlusPlus(MSTPlusPlusConfig(bands=31, n_feat=8, stages=1))
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

__all__ = ["MSTPlusPlusConfig", "MSTPlusPlus", "SpectralMSA", "SpectralAttentionBlock"]


@dataclass(frozen=True)
class MSTPlusPlusConfig:
    """Architecture of an MST++ model.

    Parameters
    ----------
    bands : int
        Output bands.
    n_feat : int
        Feature width at full resolution. The paper uses 31 (= its band count); the
        wider-band configs keep 31 so that cost does not grow with ``bands`` squared.
    stages : int
        Number of cascaded single-stage transformers (paper: 3).
    blocks : tuple of int
        Attention blocks per SST level, encoder levels then bottleneck (paper: 1, 1, 1,
        i.e. two downsamplings); the decoder mirrors the encoder levels.
    head_dim : int or None
        Channels per attention head; ``None`` means ``n_feat`` (paper: one head at full
        resolution, doubling with every level).
    ffn_mult : int
        FFN expansion (paper: 4).

    Examples
    --------
    >>> MSTPlusPlusConfig(bands=31).stages
    3
    """

    bands: int
    n_feat: int = 31
    stages: int = 3
    blocks: tuple[int, ...] = (1, 1, 1)
    head_dim: int | None = None
    ffn_mult: int = 4

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
        hd = self.head_dim or self.n_feat
        ok = (isinstance(self.bands, int) and self.bands >= 1 and self.n_feat >= 1
              and self.stages >= 1 and len(self.blocks) >= 1 and min(self.blocks) >= 1
              and self.n_feat % hd == 0 and self.ffn_mult >= 1)
        if not ok:
            raise ConfigError(format_message(
                "positive bands/n_feat/stages/ffn_mult, non-empty positive blocks and "
                "head_dim dividing n_feat", repr(self), "fix the MST++ configuration"))


class SpectralMSA(nn.Module):
    """Spectral-wise multi-head self-attention (channels are the tokens).

    Examples
    --------
    >>> SpectralMSA(8, 4)(torch.rand(1, 8, 5, 6)).shape
    torch.Size([1, 8, 5, 6])
    """

    def __init__(self, dim: int, head_dim: int) -> None:
        super().__init__()
        self.heads = dim // head_dim
        self.head_dim = head_dim
        inner = self.heads * head_dim
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(dim, inner, bias=False)
        self.to_v = nn.Linear(dim, inner, bias=False)
        self.sigma = nn.Parameter(torch.ones(self.heads, 1, 1))
        self.proj = nn.Linear(inner, dim)
        self.pos = nn.Sequential(
            nn.Conv2d(inner, dim, 3, padding=1, groups=dim, bias=False), nn.GELU(),
            nn.Conv2d(dim, dim, 3, padding=1, groups=dim, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # (n, hw, c)

        def split(t: torch.Tensor) -> torch.Tensor:  # (n, hw, inner) -> (n, heads, d, hw)
            return t.transpose(1, 2).reshape(n, self.heads, self.head_dim, h * w)

        q, k, v = split(self.to_q(tokens)), split(self.to_k(tokens)), split(self.to_v(tokens))
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = torch.softmax((k @ q.transpose(-2, -1)) * self.sigma, dim=-1)
        out = (attn @ v).reshape(n, -1, h * w).transpose(1, 2)  # (n, hw, inner)
        out = self.proj(out).transpose(1, 2).reshape(n, c, h, w)
        return out + self.pos(v.reshape(n, -1, h, w))


class _FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int) -> None:
        super().__init__()
        hidden = dim * mult
        self.norm = LayerNorm2d(dim)
        self.net = nn.Sequential(
            nn.Conv2d(dim, hidden, 1, bias=False), nn.GELU(),
            nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden, bias=False), nn.GELU(),
            nn.Conv2d(hidden, dim, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.norm(x))


class SpectralAttentionBlock(nn.Module):
    """``n`` repetitions of ``x = S-MSA(x) + x; x = FFN(LN(x)) + x``.

    Examples
    --------
    >>> SpectralAttentionBlock(8, 4, 2, 4)(torch.rand(1, 8, 4, 4)).shape
    torch.Size([1, 8, 4, 4])
    """

    def __init__(self, dim: int, head_dim: int, n: int, ffn_mult: int) -> None:
        super().__init__()
        self.attn = nn.ModuleList([SpectralMSA(dim, head_dim) for _ in range(n)])
        self.ffn = nn.ModuleList([_FeedForward(dim, ffn_mult) for _ in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for attn, ffn in zip(self.attn, self.ffn):
            x = attn(x) + x
            x = ffn(x) + x
        return x


class _SingleStage(UNetBody):
    """One U-shaped single-stage spectral transformer (``dim -> dim``)."""

    def __init__(self, dim: int, head_dim: int, blocks: tuple[int, ...], ffn_mult: int) -> None:
        super().__init__(dim, blocks, lambda ch, n, level: SpectralAttentionBlock(
            ch, head_dim, n, ffn_mult))


class MSTPlusPlus(ReconstructionModel):
    """Multi-stage spectral-wise transformer for RGB -> spectrum reconstruction.

    Parameters
    ----------
    config : MSTPlusPlusConfig
    name : str, optional

    Examples
    --------
    >>> m = MSTPlusPlus(MSTPlusPlusConfig(bands=202, n_feat=8, stages=1))
    >>> m(torch.rand(1, 3, 9, 10)).shape
    torch.Size([1, 202, 9, 10])
    """

    family = "mst_plus_plus"

    def __init__(self, config: MSTPlusPlusConfig, name: str | None = None) -> None:
        super().__init__(config, name)
        c = config
        head_dim = c.head_dim or c.n_feat
        self.conv_in = nn.Conv2d(3, c.n_feat, 3, padding=1, bias=False)
        self.body = nn.Sequential(*[_SingleStage(c.n_feat, head_dim, c.blocks, c.ffn_mult)
                                    for _ in range(c.stages)])
        self.conv_out = nn.Conv2d(c.n_feat, c.bands, 3, padding=1, bias=False)
        self.residual: nn.Module = (nn.Identity() if c.bands == c.n_feat
                                    else nn.Conv2d(c.n_feat, c.bands, 1, bias=False))
        self.multiple = 2 ** (len(c.blocks) - 1)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``(N, bands, H, W)`` from ``(N, 3, H, W)`` for any ``H, W``."""
        check_rgb(rgb)
        x, size = pad_to_multiple(rgb, self.multiple)
        x = self.conv_in(x)
        out = self.conv_out(self.body(x)) + self.residual(x)
        return crop_to(out, size)
