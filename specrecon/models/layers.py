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
    "LayerNorm2d",
    "SqueezeExcitation1d",
    "make_activation",
]


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
