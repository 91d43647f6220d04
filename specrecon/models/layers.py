"""Building blocks shared by the model families.

Everything here is plain PyTorch with no xarray: the model base class (common
attributes and input checks), padding helpers that let every model accept any
``H, W``, a channel layer norm for ``(N, C, H, W)`` maps, and a squeeze-excitation
block for 1-D (spectral) feature maps.

Examples
--------
>>> import torch
>>> x = torch.rand(1, 3, 10, 13)
>>> padded, size = pad_to_multiple(x, 8)
>>> tuple(padded.shape), size
((1, 3, 16, 16), (10, 13))
>>> tuple(crop_to(padded, size).shape)
(1, 3, 10, 13)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from specrecon.errors import BandDimensionError, ConfigError, format_message

__all__ = [
    "ReconstructionModel",
    "pad_to_multiple",
    "crop_to",
    "check_rgb",
    "autocast_enabled",
    "LayerNorm2d",
    "SqueezeExcitation1d",
    "make_activation",
    "KERNELS",
    "check_kernel",
    "UNetBody",
]

#: Implementations of the HYDRA teacher and student: ``"fast"`` (the default) and
#: ``"reference"`` (the plain code the fast paths are tested against).
KERNELS: tuple[str, ...] = ("fast", "reference")


def check_kernel(name: str, what: str) -> str:
    """Return ``name`` if it is one of :data:`KERNELS`, else raise ConfigError.

    Examples
    --------
    >>> check_kernel("fast", "teacher")
    'fast'
    """
    if name not in KERNELS:
        raise ConfigError(format_message(f"a {what} kernel in {KERNELS}", repr(name),
                                         "use 'fast' (default) or 'reference'"))
    return name


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module from its name.

    Parameters
    ----------
    name : str
        One of ``"gelu"``, ``"relu"``, ``"leaky_relu"``, ``"silu"``, ``"identity"``.

    Returns
    -------
    torch.nn.Module

    Examples
    --------
    >>> make_activation("gelu")
    GELU(approximate='none')
    """
    table = {
        "gelu": nn.GELU,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(0.1),
        "silu": nn.SiLU,
        "identity": nn.Identity,
    }
    if name not in table:
        raise ConfigError(format_message(
            f"an activation in {sorted(table)}", repr(name), "pick one of the listed names"))
    return table[name]()


def pad_to_multiple(x: torch.Tensor, multiple: int,
                    mode: str = "reflect") -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad the last two axes of ``x`` at the bottom/right up to a multiple.

    Reflect padding is used where the axis is long enough (PyTorch needs
    ``pad < size``); otherwise replicate padding, so even a 1-pixel input works.

    Parameters
    ----------
    x : torch.Tensor
        ``(N, C, H, W)``.
    multiple : int
        Target multiple for ``H`` and ``W`` (e.g. ``2 ** levels``).
    mode : str
        ``"reflect"`` (default) or ``"replicate"``.

    Returns
    -------
    padded : torch.Tensor
        ``(N, C, H', W')`` with ``H' % multiple == 0`` and ``W' % multiple == 0``.
    size : tuple of int
        The original ``(H, W)``, for :func:`crop_to`.

    Examples
    --------
    >>> pad_to_multiple(torch.zeros(1, 1, 1, 5), 4)[0].shape
    torch.Size([1, 1, 4, 8])
    """
    h, w = int(x.shape[-2]), int(x.shape[-1])
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    use = mode if (mode == "replicate" or (ph < h and pw < w)) else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=use), (h, w)


def crop_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Crop the last two axes back to ``size = (H, W)`` (inverse of :func:`pad_to_multiple`).

    Examples
    --------
    >>> crop_to(torch.zeros(1, 2, 8, 8), (5, 6)).shape
    torch.Size([1, 2, 5, 6])
    """
    return x[..., : size[0], : size[1]]


def autocast_enabled(x: torch.Tensor) -> bool:
    """Whether autocast is on for ``x``'s device type (works across torch >= 2.2).

    Examples
    --------
    >>> autocast_enabled(torch.zeros(1))
    False
    >>> with torch.autocast("cpu", dtype=torch.bfloat16):
    ...     autocast_enabled(torch.zeros(1))
    True
    """
    kind = x.device.type
    try:
        return bool(torch.is_autocast_enabled(kind))
    except TypeError:  # torch < 2.4: no device-type argument
        if kind == "cpu":
            return bool(torch.is_autocast_cpu_enabled())
        return bool(torch.is_autocast_enabled()) if kind == "cuda" else False


def check_rgb(rgb: torch.Tensor, *, channels: int = 3) -> None:
    """Raise :class:`~specrecon.errors.BandDimensionError` unless ``rgb`` is ``(N, C, H, W)``.

    Examples
    --------
    >>> check_rgb(torch.zeros(1, 3, 4, 4))
    """
    if not isinstance(rgb, torch.Tensor) or rgb.ndim != 4 or rgb.shape[1] != channels:
        found = (f"shape {tuple(rgb.shape)}" if isinstance(rgb, torch.Tensor)
                 else type(rgb).__name__)
        raise BandDimensionError(format_message(
            f"a float tensor of shape (N, {channels}, H, W)", found,
            "put the batch first and the 3 RGB channels second, e.g. rgb[None] for one image"))
    if not rgb.is_floating_point():
        raise BandDimensionError(format_message(
            "a floating-point tensor in [0, 1]", f"dtype {rgb.dtype}",
            "convert with rgb.float() / 255 for 8-bit data"))


class ReconstructionModel(nn.Module):
    """Base class of every specrecon network: the attributes the rest of the package relies on.

    Attributes
    ----------
    name : str
        Registry name the model was created from (or the model card's name once loaded).
    family : str
        ``"hydra"`` or ``"mst_plus_plus"``.
    config : dataclass
        Frozen, JSON-serialisable configuration (``dataclasses.asdict``).
    card : ModelCard or None
        Set by :func:`specrecon.models.load_model`; ``None`` for untrained models.

    Examples
    --------
    >>> from specrecon.models import create_model
    >>> m = create_model("hydra-tiny-31")
    >>> isinstance(m, ReconstructionModel), m.bands, m.card is None
    (True, 31, True)
    """

    family: str = ""

    def __init__(self, config: Any, name: str | None = None) -> None:
        super().__init__()
        self.config = config
        self.name = name or f"{self.family}-custom"
        self.card: Any = None

    @property
    def bands(self) -> int:
        """Number of output spectral bands."""
        return int(self.config.bands)

    def num_parameters(self) -> int:
        """Total number of parameters (trainable or not)."""
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self) -> str:
        return f"name={self.name!r}, bands={self.bands}"


class LayerNorm2d(nn.Module):
    """Layer normalisation over the channel axis of ``(N, C, H, W)`` maps (per pixel).

    Parameters
    ----------
    channels : int
    eps : float

    Examples
    --------
    >>> y = LayerNorm2d(4)(torch.randn(2, 4, 3, 3))
    >>> bool(y.mean(1).abs().max() < 1e-5)
    True
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        y = (x - mu) * torch.rsqrt(var + self.eps)
        return y * self.weight[:, None, None] + self.bias[:, None, None]


class SqueezeExcitation1d(nn.Module):
    """Squeeze-excitation over channels of a 1-D feature map ``(B, C, L)``.

    Squeeze = mean over the spectral axis ``L``; excitation = ``C -> C/r -> C``
    with ReLU then sigmoid; the input is re-weighted per channel (the ``F ⊙ A``
    of HYDRA eq. 1-2).

    Parameters
    ----------
    channels : int
    reduction : int
        Ratio ``r``; the hidden width is ``max(1, channels // r)``.

    Examples
    --------
    >>> se = SqueezeExcitation1d(8, reduction=4)
    >>> se(torch.randn(5, 8, 31)).shape
    torch.Size([5, 8, 31])
    """

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(-1)))))
        return x * a.unsqueeze(-1)


class UNetBody(nn.Module):
    """U-shaped ``dim -> dim`` body shared by MST++'s single-stage transformer and CCNet's unit.

    A 3x3 embedding; per encoder level a stage of blocks, then a 4x4 stride-2 convolution
    doubling the channels; a bottleneck stage; per decoder level a 2x2 stride-2 transposed
    convolution halving them, concatenation with the encoder feature, a 1x1 fusion and a
    stage; a 3x3 mapping plus the input (residual). The families differ only in their
    stages, built by ``stage(channels, n_blocks, level)``.

    Parameters
    ----------
    dim : int
        Channels at full resolution.
    blocks : tuple of int
        Blocks per encoder level, the last entry for the bottleneck (the decoder mirrors).
    stage : callable
        ``stage(channels, n_blocks, level) -> nn.Module``.

    Examples
    --------
    >>> body = UNetBody(4, (1, 1), lambda ch, n, level: nn.Identity())
    >>> body(torch.rand(1, 4, 8, 8)).shape
    torch.Size([1, 4, 8, 8])
    """

    def __init__(self, dim: int, blocks: tuple[int, ...],
                 stage: Callable[[int, int, int], nn.Module]) -> None:
        super().__init__()
        levels = len(blocks) - 1
        self.embed = nn.Conv2d(dim, dim, 3, padding=1, bias=False)
        self.enc = nn.ModuleList()
        self.down = nn.ModuleList()
        d = dim
        for i in range(levels):
            self.enc.append(stage(d, blocks[i], i))
            self.down.append(nn.Conv2d(d, 2 * d, 4, stride=2, padding=1, bias=False))
            d *= 2
        self.bottleneck = stage(d, blocks[-1], levels)
        self.up = nn.ModuleList()
        self.fuse = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in reversed(range(levels)):
            self.up.append(nn.ConvTranspose2d(d, d // 2, 2, stride=2))
            self.fuse.append(nn.Conv2d(d, d // 2, 1, bias=False))
            d //= 2
            self.dec.append(stage(d, blocks[i], i))
        self.mapping = nn.Conv2d(dim, dim, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x)
        skips = []
        for enc, down in zip(self.enc, self.down):
            h = enc(h)
            skips.append(h)
            h = down(h)
        h = self.bottleneck(h)
        for up, fuse, dec, skip in zip(self.up, self.fuse, self.dec, reversed(skips)):
            h = dec(fuse(torch.cat([up(h), skip], dim=1)))
        return self.mapping(h) + x
