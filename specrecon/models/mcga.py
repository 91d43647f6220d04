"""MCGA (Mixture of Codebooks hyperspectral reconstruction via Grayscale-Aware attention),
written from the paper's description (no public code was available).

Two training stages and an optional test-time adaptation:

1. **Prior** (HSI -> HSI): a multi-scale VQ-VAE learns codebooks of spectral features.
   ``encode`` maps a cube to ``latent_dim`` features; Algorithm 1 (multi-scale
   quantization, after VAR) walks the ``scales`` from coarse to fine: the residual ``r``
   is average-pooled by the scale's factor, each feature vector is replaced by its nearest
   code of that scale's codebook, the quantized map is upsampled to full resolution,
   passed through a 3x3 convolution and subtracted from ``r``. Algorithm 2 (multi-scale
   reconstruction) walks the quantized maps from coarse to fine, concatenating each with
   the upsampled running features and convolving, and a final 3x3 convolution gives the
   cube. Training: reconstruction loss + embedding loss ``||sg(z) - e||^2`` +
   ``beta ||z - sg(e)||^2`` (``beta = 0.25``) with straight-through gradients; about
   half of the input bands are masked at random (``mask_ratio``). The codebooks of all
   scales together are the Mixture of Codebooks (MoC); codebooks learned on several
   datasets can be concatenated with :func:`mixture_of_codebooks`.
2. **Mapping** (RGB -> HSI, the grayscale-aware network GANet): a U-Net of GABlocks
   (``dim, 2 dim, ...`` channels, halving resolution). On the way up, at every level whose
   downsampling factor is one of ``scales``, the features are projected to
   ``latent_dim``, quantized with the frozen codebook of that scale (they "query and
   replace" the latent HSI features), fused with the unquantized projection by one 1x1
   convolution, and handed both to the next decoder level and to Algorithm 2's
   reconstruction, which produces the cube. Only the MoC stays frozen (the paper:
   "only the parameters of non-MoC operators are updated"); the stage-1 encoder is not
   used any more.
3. **Test-time adaptation** (:func:`tta_adapt`): on a deep copy, the parameters of
   the grayscale-aware attention (eq. 6) are updated to minimise the entropy of the
   codebook queries (distances -> softmax probabilities, eq. 17); the given model is left
   untouched.

GABlock = ``x + GQA(LN x)``, ``x + GFF(LN x)``:

- **Grayscale-aware attention** (eq. 5-9): ``a = softmax(W GAP(x) + b)`` over channels;
  the input is normalised to ``(0, 1)`` with a sigmoid; ``GA_gamma(x) = x_n ** (C a)``
  (exponents average 1: attended channels are darkened, others brightened) and
  ``GA_log(x) = log(1 + a' x_n) / log(1 + a')`` with ``a' = 1 + (ga_log_max - 1) a / max(a)``
  in ``(1, ga_log_max]`` (paper: upper bound 5).
- **GA-based feed-forward** (eq. 14-16): 1x1 conv, depth-wise 3x3 conv doubling the
  channels, GELU -> ``X``; split into ``X1, X2``; ``Y = Conv1x1([X, GA_log(X1), GA_gamma(X2)])``
  (the residual concatenation lets the network choose how much GA to keep).
- **Quantized self-attention** (GQA, eq. 10-13): 1x1 convolutions give ``Q, K`` (``latent_dim``
  channels) and ``V``; every pixel's ``K`` is assigned to its nearest MoC code, the
  ``topk`` most frequent codes of the image define ``topk`` clusters, and ``K``, ``V``
  are averaged per cluster. Each pixel's ``Q`` attends to the ``topk`` cluster keys
  (``softmax(Q K^T / sqrt(d))``), so the cost is ``O(HW topk)`` instead of ``O((HW)^2)``.

Choices the paper leaves open (configuration fields unless noted)
-----------------------------------------------------------------
- Widths (``dim``, ``latent_dim``, ``prior_dim``), depth (``levels``, ``blocks``) and
  ``topk`` are not published; paper-scale configs are sized near the paper's 0.76 M
  (31 bands) / 0.80 M (202 bands) parameters, "S2" = two scales (factors 2 and 1).
- Codebook size: 512 vectors per scale (the paper's "256 pixel types x 2 granularities").
- Normalisation before GA: a sigmoid (per element, so it does not depend on the tile),
  instead of an unspecified min-max normalisation.
- Exact forms of eq. 7-9 and of the top-k quantization (lost in the available text):
  as written above. ``Q`` is not quantized, so that its projection receives gradients.
- Reconstruction loss (the paper's eq. 2 cites another work): the stage's configured
  loss (MRAE by default, as the rest of specrecon's recipes).
- The encoder's features are L2-normalised per pixel before quantization (as in
  cosine-similarity VQ variants). With unnormalised features the encoder outgrew the
  slowly moving codebooks and the stage-1 loss diverged (measured: loss 1.1 -> 3.8e5 in
  300 steps on the synthetic natural scenes; normalised: 1.3 -> 0.55 in 110 steps).
- Stage 1 initialises the codebooks from encoder features of the first batch (random
  codes rarely get used in short runs); stage 2 fine-tunes the reconstruction
  (Algorithm 2) convolutions together with GANet.
- TTA: entropy at the decoder's codebook queries, softmax of negative squared
  distances with ``entropy_temperature``; Adam on the GA attention parameters.

Tiling caveat
-------------
GA pools over all pixels of its input and GQA clusters the pixels of the input, so
(as for MST++) the output depends on the tile the model sees.

Examples
--------
>>> import torch
>>> m = MCGA(DEFAULT_CONFIGS["mcga-tiny-31"])
>>> m(torch.rand(1, 3, 20, 24)).shape
torch.Size([1, 31, 20, 24])
>>> m.autoencode(torch.rand(1, 31, 8, 8))[0].shape
torch.Size([1, 31, 8, 8])
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from specrecon.errors import ConfigError, format_message
from specrecon.models.layers import (
    LayerNorm2d,
    ReconstructionModel,
    check_rgb,
    crop_to,
    pad_to_multiple,
)

__all__ = ["MCGAConfig", "MCGA", "GrayscaleAttention", "tta_adapt",
           "mixture_of_codebooks", "DEFAULT_CONFIGS"]


@dataclass(frozen=True)
class MCGAConfig:
    """Architecture of an MCGA model (VQ-VAE prior + GANet mapping).

    Parameters
    ----------
    bands : int
        Output bands.
    latent_dim : int
        Dimension of the codebook vectors (VQ-VAE latent features).
    codebook_size : int
        Codes per scale (paper: 512).
    scales : tuple of int
        Downsampling factors of the quantization scales, coarse to fine, powers of two,
        the last 1 (paper "S2": two scales; here ``(2, 1)``).
    prior_dim : int
        Width of the stage-1 encoder and of the reconstruction (Algorithm 2) convolutions.
    dim : int
        GANet width at full resolution (doubling per level).
    levels : int
        GANet downsamplings; ``2 ** levels`` must be at least the coarsest scale.
    blocks : int
        GABlocks per GANet level (encoder, bottleneck and decoder).
    topk : int
        Clusters of the quantized self-attention.
    beta : float
        Commitment weight (paper: 0.25).
    mask_ratio : float
        Fraction of input bands zeroed per sample in stage 1 (paper: about half).
    ga_log_max : float
        Upper bound of the logarithmic GA's scaled attention (paper: 5).
    entropy_temperature : float
        Temperature of the distance -> probability conversion of the TTA entropy.

    Examples
    --------
    >>> MCGAConfig(bands=31).scales
    (2, 1)
    """

    bands: int
    latent_dim: int = 32
    codebook_size: int = 512
    scales: tuple[int, ...] = (2, 1)
    prior_dim: int = 64
    dim: int = 32
    levels: int = 2
    blocks: int = 1
    topk: int = 16
    beta: float = 0.25
    mask_ratio: float = 0.5
    ga_log_max: float = 5.0
    entropy_temperature: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
        s = self.scales
        ok = (isinstance(self.bands, int) and self.bands >= 1 and self.latent_dim >= 1
              and self.codebook_size >= 1 and len(s) >= 1 and s[-1] == 1
              and all(isinstance(v, int) and v >= 1 and v & (v - 1) == 0 for v in s)
              and all(a > b for a, b in zip(s, s[1:])) and self.levels >= 0
              and 2 ** self.levels >= s[0] and self.prior_dim >= 1 and self.dim >= 1
              and self.blocks >= 1 and self.topk >= 1 and 0 <= self.mask_ratio < 1
              and self.ga_log_max > 1 and self.entropy_temperature > 0)
        if not ok:
            raise ConfigError(format_message(
                "positive sizes, scales as decreasing powers of two ending in 1 with "
                "2**levels >= scales[0], 0 <= mask_ratio < 1, ga_log_max > 1",
                repr(self), "fix the MCGA configuration"))


# --------------------------------------------------------------------------- quantization

def _nearest(z: torch.Tensor, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared distances ``(P, K)`` of vectors ``z (P, D)`` to ``codes (K, D)`` and argmin."""
    d = (z.pow(2).sum(1, keepdim=True) - 2.0 * z @ codes.t() + codes.pow(2).sum(1)[None])
    return d, d.argmin(1)


def _to_rows(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def _from_rows(rows: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    n, _, h, w = like.shape
    return rows.reshape(n, h, w, -1).permute(0, 3, 1, 2)


def _entropy(dist: torch.Tensor, temperature: float) -> torch.Tensor:
    logp = torch.log_softmax(-dist / temperature, dim=1)
    return -(logp.exp() * logp).sum(1).mean()


# --------------------------------------------------------------------------- GA pieces

class GrayscaleAttention(nn.Module):
    """Channel attention vector ``a = softmax(W GAP(x) + b)`` and the two GA operations.

    Examples
    --------
    >>> ga = GrayscaleAttention(4)
    >>> x = torch.randn(2, 4, 5, 5)
    >>> ga.gamma(x).shape, bool((ga.log(x) >= 0).all() and (ga.log(x) <= 1).all())
    (torch.Size([2, 4, 5, 5]), True)
    """

    def __init__(self, channels: int, log_max: float = 5.0) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, channels)
        self.log_max = log_max

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C)`` softmax attention vector of ``x``."""
        return torch.softmax(self.fc(x.mean((2, 3))), dim=1)

    def gamma(self, x: torch.Tensor) -> torch.Tensor:
        """``x_n ** (C a)`` with ``x_n = sigmoid(x)``."""
        a = self.attention(x) * x.shape[1]
        xn = torch.sigmoid(x).clamp_min(1e-6)
        return xn.pow(a[:, :, None, None])

    def log(self, x: torch.Tensor) -> torch.Tensor:
        """``log(1 + a' x_n) / log(1 + a')`` with ``a'`` in ``(1, log_max]``."""
        a = self.attention(x)
        s = (1.0 + (self.log_max - 1.0) * a / a.amax(1, keepdim=True))[:, :, None, None]
        return torch.log1p(s * torch.sigmoid(x)) / torch.log1p(s)


class _GFF(nn.Module):
    """GA-based feed-forward (eq. 14-16)."""

    def __init__(self, c: int, log_max: float) -> None:
        super().__init__()
        self.pw = nn.Conv2d(c, c, 1)
        self.dw = nn.Conv2d(c, 2 * c, 3, padding=1, groups=c)
        self.ga_log = GrayscaleAttention(c, log_max)
        self.ga_gamma = GrayscaleAttention(c, log_max)
        self.out = nn.Conv2d(4 * c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.gelu(self.dw(self.pw(x)))
        x1, x2 = h.chunk(2, dim=1)
        return self.out(torch.cat([h, self.ga_log.log(x1), self.ga_gamma.gamma(x2)], dim=1))


class _GQA(nn.Module):
    """Quantized self-attention: pixels attend to the ``topk`` most frequent MoC clusters."""

    def __init__(self, c: int, latent_dim: int, topk: int) -> None:
        super().__init__()
        self.q = nn.Conv2d(c, latent_dim, 1)
        self.k = nn.Conv2d(c, latent_dim, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj = nn.Conv2d(c, c, 1)
        self.topk = topk
        self.scale = latent_dim ** -0.5

    def forward(self, x: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.q(x).flatten(2).transpose(1, 2)  # (n, hw, d)
        k = self.k(x).flatten(2).transpose(1, 2)
        v = self.v(x).flatten(2).transpose(1, 2)  # (n, hw, c)
        m = codes.shape[0]
        with torch.no_grad():
            _, idx = _nearest(k.reshape(-1, k.shape[-1]).float(), codes.float())
            idx = idx.reshape(n, h * w)
            counts = torch.zeros(n, m, device=x.device).scatter_add_(
                1, idx, torch.ones(n, h * w, device=x.device))
            t = min(self.topk, m)
            top_counts, top = counts.topk(t, dim=1)  # (n, t)
            # slot of every pixel among the top codes (t = not among them)
            slot = torch.full((n, m), t, dtype=torch.long, device=x.device)
            slot.scatter_(1, top, torch.arange(t, device=x.device).expand(n, t))
            pix_slot = slot.gather(1, idx)  # (n, hw)
        onehot = F.one_hot(pix_slot, t + 1)[..., :t].to(k.dtype)  # (n, hw, t)
        denom = onehot.sum(1).clamp_min(1.0)[..., None]  # (n, t, 1)
        kc = onehot.transpose(1, 2) @ k / denom  # (n, t, d) cluster keys
        vc = onehot.transpose(1, 2) @ v / denom  # (n, t, c) cluster values
        logits = (q @ kc.transpose(1, 2)) * self.scale
        logits = logits.masked_fill((top_counts == 0)[:, None, :], float("-inf"))
        out = torch.softmax(logits, dim=-1) @ vc  # (n, hw, c)
        return self.proj(out.transpose(1, 2).reshape(n, c, h, w))


class GABlock(nn.Module):
    """``x + GQA(LN x)`` then ``x + GFF(LN x)``.

    Examples
    --------
    >>> b = GABlock(8, latent_dim=4, topk=3)
    >>> b(torch.rand(1, 8, 6, 6), torch.randn(10, 4)).shape
    torch.Size([1, 8, 6, 6])
    """

    def __init__(self, c: int, latent_dim: int, topk: int, log_max: float = 5.0) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(c)
        self.attn = _GQA(c, latent_dim, topk)
        self.norm2 = LayerNorm2d(c)
        self.ffn = _GFF(c, log_max)

    def forward(self, x: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), codes)
        return x + self.ffn(self.norm2(x))


class _Blocks(nn.Module):
    def __init__(self, n: int, c: int, cfg: MCGAConfig) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([GABlock(c, cfg.latent_dim, cfg.topk, cfg.ga_log_max)
                                     for _ in range(n)])

    def forward(self, x: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        for b in self.blocks:
            x = b(x, codes)
        return x


# --------------------------------------------------------------------------- model

class MCGA(ReconstructionModel):
    """MCGA: multi-scale VQ-VAE prior (stage 1) and grayscale-aware mapping (stage 2).

    Attributes
    ----------
    codebooks : torch.nn.Parameter
        ``(len(scales), codebook_size, latent_dim)``: the Mixture of Codebooks.

    Examples
    --------
    >>> m = MCGA(MCGAConfig(bands=202, latent_dim=4, codebook_size=8, prior_dim=8, dim=4))
    >>> m(torch.rand(1, 3, 9, 10)).shape
    torch.Size([1, 202, 9, 10])
    """

    family = "mcga"

    def __init__(self, config: MCGAConfig, name: str | None = None) -> None:
        super().__init__(config, name)
        c = config
        d, e = c.latent_dim, c.prior_dim
        ns = len(c.scales)
        # ---- stage 1: VQ-VAE (encoder, codebooks, phi convs, Algorithm-2 decoder)
        self.encoder = nn.Sequential(nn.Conv2d(c.bands, e, 3, padding=1), nn.GELU(),
                                     nn.Conv2d(e, d, 3, padding=1))
        self.codebooks = nn.Parameter(torch.randn(ns, c.codebook_size, d))
        # phi: upsampled codes -> what is removed from the residual (not after the last scale)
        self.phi = nn.ModuleList([nn.Conv2d(d, d, 3, padding=1) for _ in range(ns - 1)])
        self.dec_in = nn.Conv2d(d, e, 3, padding=1)
        self.dec_steps = nn.ModuleList([nn.Conv2d(e + d, e, 3, padding=1)
                                        for _ in range(ns - 1)])
        self.dec_out = nn.Conv2d(e, c.bands, 3, padding=1)
        # ---- stage 2: GANet
        self.conv_in = nn.Conv2d(3, c.dim, 3, padding=1)
        widths = [c.dim * 2 ** i for i in range(c.levels + 1)]
        self.enc = nn.ModuleList([_Blocks(c.blocks, widths[i], c) for i in range(c.levels)])
        self.down = nn.ModuleList([nn.Conv2d(widths[i], widths[i + 1], 4, stride=2, padding=1)
                                   for i in range(c.levels)])
        self.bottleneck = _Blocks(c.blocks, widths[-1], c)
        self.up = nn.ModuleList()
        self.fuse = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in reversed(range(c.levels)):
            self.up.append(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2))
            self.fuse.append(nn.Conv2d(2 * widths[i], widths[i], 1))
            self.dec.append(_Blocks(c.blocks, widths[i], c))
        # query taps: level whose factor 2**level is a quantization scale
        self.tap_level = [int(math.log2(f)) for f in c.scales]
        self.to_latent = nn.ModuleList([nn.Conv2d(widths[lv], d, 1) for lv in self.tap_level])
        self.q_fuse = nn.ModuleList([nn.Conv2d(2 * d, d, 1) for _ in c.scales])
        # back into the decoder path; the finest tap (level 0) is the last step, no way back
        self.from_latent = nn.ModuleList([nn.Conv2d(d, widths[lv], 1)
                                          for lv in self.tap_level[:-1]])
        self.multiple = 2 ** c.levels

    # ------------------------------------------------------------------ parameter groups
    def prior_parameters(self) -> list[nn.Parameter]:
        """Stage-1 parameters: encoder, codebooks, phi convolutions, reconstruction."""
        mods = [self.encoder, *self.phi, self.dec_in, *self.dec_steps, self.dec_out]
        return [self.codebooks] + [p for m in mods for p in m.parameters()]

    def mapping_parameters(self) -> list[nn.Parameter]:
        """Stage-2 parameters: everything but the MoC and the stage-1 encoder / phi."""
        frozen = {id(p) for p in [self.codebooks, *self.encoder.parameters(),
                                  *self.phi.parameters()]}
        return [p for p in self.parameters() if id(p) not in frozen]

    def ga_parameters(self) -> list[nn.Parameter]:
        """Parameters of every grayscale-aware attention (what test-time adaptation updates)."""
        return [p for m in self.modules() if isinstance(m, GrayscaleAttention)
                for p in m.parameters()]

    # ------------------------------------------------------------------ pieces
    def _quantize(self, z: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor,
                                                               torch.Tensor]:
        """Nearest codes of ``z`` (straight-through), the codebook loss and the query entropy."""
        rows = _to_rows(z)
        dist, idx = _nearest(rows.float(), self.codebooks[scale].float())
        q = self.codebooks[scale][idx].to(z.dtype)
        vq = F.mse_loss(q, rows.detach()) + self.config.beta * F.mse_loss(rows, q.detach())
        ent = _entropy(dist, self.config.entropy_temperature)
        q = rows + (q - rows).detach()
        return _from_rows(q, z), vq, ent

    def reconstruct(self, feats: list[torch.Tensor], size: tuple[int, ...]) -> torch.Tensor:
        """Algorithm 2: cube ``(N, bands, H, W)`` from per-scale latent maps (coarse first)."""
        h = F.gelu(self.dec_in(feats[0]))
        for step, z in zip(self.dec_steps, feats[1:]):
            h = F.interpolate(h, size=z.shape[-2:], mode="nearest")
            h = F.gelu(step(torch.cat([h, z], dim=1)))
        if tuple(h.shape[-2:]) != tuple(size):
            h = F.interpolate(h, size=size, mode="nearest")
        return self.dec_out(h)

    def encode(self, cube: torch.Tensor) -> torch.Tensor:
        """Stage-1 encoder features, L2-normalised per pixel (bounded: see the module notes)."""
        return F.normalize(self.encoder(cube), dim=1)

    def quantize_cube(self, cube: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Algorithm 1: per-scale quantized maps of a cube and the summed codebook loss."""
        r = self.encode(cube)
        size = r.shape[-2:]
        feats, vq_total = [], r.new_zeros(())
        for i, f in enumerate(self.config.scales):
            rs = F.avg_pool2d(r, f) if f > 1 else r
            q, vq, _ = self._quantize(rs, i)
            feats.append(q)
            vq_total = vq_total + vq
            if i < len(self.phi):
                up = F.interpolate(q, size=size, mode="nearest") if f > 1 else q
                r = r - self.phi[i](up)
        return feats, vq_total

    def autoencode(self, cube: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Stage-1 pass: ``(reconstructed cube, codebook loss)`` for ``(N, bands, H, W)``."""
        x, size = pad_to_multiple(cube, self.config.scales[0])
        feats, vq = self.quantize_cube(x)
        return crop_to(self.reconstruct(feats, x.shape[-2:]), size), vq

    @torch.no_grad()
    def init_codebooks(self, cube: torch.Tensor, generator: torch.Generator) -> None:
        """Set every scale's codebook to randomly drawn encoder (residual) features of ``cube``.

        Draws with replacement when the cube has fewer feature vectors than codes and
        adds a little noise so that no two codes coincide.
        """
        x, _ = pad_to_multiple(cube, self.config.scales[0])
        r = self.encode(x)
        size = r.shape[-2:]
        k = self.config.codebook_size
        for i, f in enumerate(self.config.scales):
            rs = F.avg_pool2d(r, f) if f > 1 else r
            rows = _to_rows(rs)
            pick = torch.randint(0, rows.shape[0], (k,), generator=generator).to(rows.device)
            noise = torch.randn(k, rows.shape[1], generator=generator).to(rows.device)
            spread = rows.std(0, keepdim=True).clamp_min(1e-3)
            self.codebooks[i].copy_(rows[pick] + 0.01 * spread * noise)
            q, _, _ = self._quantize(rs, i)
            if i < len(self.phi):
                up = F.interpolate(q, size=size, mode="nearest") if f > 1 else q
                r = r - self.phi[i](up)

    def forward_with_entropy(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Stage-2 pass: ``(cube, summed entropy of the decoder's codebook queries)``."""
        check_rgb(rgb)
        x, size = pad_to_multiple(rgb, self.multiple)
        moc = self.codebooks.reshape(-1, self.config.latent_dim)
        h = self.conv_in(x)
        skips = []
        for enc, down in zip(self.enc, self.down):
            h = enc(h, moc)
            skips.append(h)
            h = down(h)
        h = self.bottleneck(h, moc)
        levels = self.config.levels
        taps: dict[int, torch.Tensor] = {}
        entropy = h.new_zeros(())

        def tap(h: torch.Tensor, level: int) -> torch.Tensor:
            nonlocal entropy
            if level not in self.tap_level:
                return h
            i = self.tap_level.index(level)
            z = self.to_latent[i](h)
            q, _, ent = self._quantize(z, i)
            entropy = entropy + ent
            y = self.q_fuse[i](torch.cat([z, q], dim=1))
            taps[i] = y
            return h + self.from_latent[i](y) if i < len(self.from_latent) else h

        h = tap(h, levels)
        for j, (up, fuse, dec, skip) in enumerate(zip(self.up, self.fuse, self.dec,
                                                      reversed(skips))):
            h = dec(fuse(torch.cat([up(h), skip], dim=1)), moc)
            h = tap(h, levels - 1 - j)
        feats = [taps[i] for i in range(len(self.config.scales))]
        out = self.reconstruct(feats, x.shape[-2:])
        return crop_to(out, size), entropy

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``(N, bands, H, W)`` from ``(N, 3, H, W)`` for any ``H, W``."""
        return self.forward_with_entropy(rgb)[0]


# --------------------------------------------------------------------------- functions

def tta_adapt(model: MCGA, rgb: torch.Tensor, *, steps: int = 5, lr: float = 1e-4,
                    seed: int = 0) -> MCGA:
    """Entropy-based test-time adaptation of the GA attention on a deep copy of ``model``.

    The copy's grayscale-aware attention parameters (eq. 6) take ``steps`` Adam steps
    minimising the entropy of the codebook queries on ``rgb`` (no labels); every other
    parameter stays fixed. ``model`` itself is never modified.

    Parameters
    ----------
    model : MCGA
        A trained model (left untouched).
    rgb : torch.Tensor
        ``(N, 3, H, W)`` test images in ``[0, 1]``.
    steps : int
        Gradient steps.
    lr : float
        Adam learning rate.
    seed : int
        Seed of torch's RNG during adaptation (the model has no randomness at present;
        kept so that the call is reproducible if that changes).

    Returns
    -------
    MCGA
        The adapted copy, in eval mode, on the model's device.

    Examples
    --------
    >>> m = MCGA(DEFAULT_CONFIGS["mcga-tiny-31"])
    >>> before = {k: v.clone() for k, v in m.state_dict().items()}
    >>> adapted = tta_adapt(m, torch.rand(1, 3, 16, 16), steps=2, lr=1e-2)
    >>> all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    True
    """
    if not isinstance(model, MCGA):
        from specrecon.errors import ModelMismatchError

        raise ModelMismatchError(format_message("an MCGA model", type(model).__name__,
                                                "create one with create_model('mcga-small-31')"))
    adapted = copy.deepcopy(model)
    adapted.card = getattr(model, "card", None)
    device = next(adapted.parameters()).device
    rgb = rgb.to(device)
    params = adapted.ga_parameters()
    params_ids = {id(p) for p in params}
    for p in adapted.parameters():
        p.requires_grad_(id(p) in params_ids)
    opt = torch.optim.Adam(params, lr=lr)
    adapted.eval()
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        with torch.enable_grad():
            for _ in range(steps):
                _, ent = adapted.forward_with_entropy(rgb)
                opt.zero_grad(set_to_none=True)
                ent.backward()
                opt.step()
    finally:
        torch.random.set_rng_state(gen_state)
    for p in adapted.parameters():
        p.requires_grad_(True)
    return adapted


def mixture_of_codebooks(models: list[MCGA], name: str | None = None) -> MCGA:
    """A new MCGA whose codebooks concatenate the codebooks of several stage-1 models.

    The paper trains one prior per dataset and concatenates their codebooks (MoC). The
    result takes every other weight from ``models[0]``; the models must share
    ``latent_dim`` and ``scales`` (band counts may differ: only the codebooks are taken
    from the others).

    Examples
    --------
    >>> a = MCGA(DEFAULT_CONFIGS["mcga-tiny-31"]); b = MCGA(DEFAULT_CONFIGS["mcga-tiny-202"])
    >>> mixture_of_codebooks([a, b]).codebooks.shape[1] == 2 * a.codebooks.shape[1]
    True
    """
    base = models[0].config
    for m in models[1:]:
        if (m.config.latent_dim, m.config.scales) != (base.latent_dim, base.scales):
            raise ConfigError(format_message(
                f"priors with latent_dim={base.latent_dim} and scales={base.scales}",
                f"latent_dim={m.config.latent_dim}, scales={m.config.scales}",
                "train every prior with the same latent_dim and scales"))
    books = torch.cat([m.codebooks.detach().cpu() for m in models], dim=1)
    import dataclasses

    cfg = dataclasses.replace(base, codebook_size=int(books.shape[1]))
    out = MCGA(cfg, name=name or models[0].name)
    state: dict[str, Any] = {k: v for k, v in models[0].state_dict().items() if k != "codebooks"}
    state["codebooks"] = books
    out.load_state_dict(state)
    return out


def _configs() -> dict[str, MCGAConfig]:
    out: dict[str, MCGAConfig] = {}
    for bands in (31, 202):
        out[f"mcga-tiny-{bands}"] = MCGAConfig(bands=bands, latent_dim=8, codebook_size=32,
                                               prior_dim=8, dim=8, levels=1, topk=4)
        out[f"mcga-small-{bands}"] = MCGAConfig(bands=bands, latent_dim=16, codebook_size=256,
                                                prior_dim=32, dim=12, levels=2, topk=8)
        out[f"mcga-{bands}"] = MCGAConfig(bands=bands)
    return out


#: Named configurations registered by :mod:`specrecon.models.registry`.
DEFAULT_CONFIGS: dict[str, MCGAConfig] = _configs()
