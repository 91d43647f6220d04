"""HYDRA teacher: a per-pixel spectral autoencoder (paper section 3.1, eq. 1-2).

Each pixel's spectrum ``S`` (``bands`` numbers) is treated as a 1-D signal with one
channel. An encoder level is ``Pool(F ⊙ A)`` with ``F = act(Conv1d(S))`` and
``A = SE(F)`` (eq. 1); the decoder mirrors it with nearest-neighbour upsampling
instead of pooling (eq. 2). There are no encoder-decoder skip connections, so the
decoder can run on the student's prediction alone.

How the latent is exactly ``latent`` numbers per pixel
-------------------------------------------------------
After the ``len(channels)`` encoder levels the feature map is ``(channels[-1], L)``
with ``L = ceil(bands / 2**levels)`` (ceil-mode pooling keeps the last, partial
window of an odd band count). The paper does not say how this map becomes the
compact code; we flatten it and apply one linear layer to ``latent`` outputs. The
decoder starts with the transposed step (linear ``latent -> channels[-1] * L``).
This gives exactly ``latent`` numbers for any band count and any latent size
(e.g. 6 for 31 bands, 17 for 202/204), where a pure pooling chain could only reach
lengths of the form ``ceil(bands / 2**k)``.

Odd band counts
---------------
Encoder pooling uses ``ceil_mode=True``; the encoder records every pre-pool length
and each decoder upsampling (``x2``, nearest) is cropped back to exactly that length,
so the output has exactly ``bands`` values.

Conditioning
------------
Reflectance in ``[0, 1]`` is mapped to ``[-1, 1]`` (``2 s - 1``) before the first
convolution and the decoder output is mapped back (``(y + 1) / 2``). This fixed
affine map changes nothing the network can represent, but centres the input: in our
tests an uncentred teacher sat about twice as long on the "predict the mean
spectrum" plateau.

Linear spectral shortcut
------------------------
With ``linear_shortcut=True`` (the default of every registered configuration) the
encoder adds a linear map of the (centred) spectrum to its latent, and the decoder adds
a linear map of the latent to its output: ``z = Lin(conv path) + W s`` and
``s' = head(conv path) + V z``. The shortcut lives *inside* each half, so there is
still no skip between encoder and decoder and the latent stays the only channel
between them. Why: spectra are close to low-rank, and the small max-pooled
convolution stack learns the dominant linear subspace slowly. In our measurements on
synthetic daylight scenes (31 bands, latent 6, 800 Adam steps) the teacher without the
shortcut reached 32.8 dB PSNR, below a 6-component PCA (43 dB); with it the linear part
gives PCA-like quality early and the convolution/SE path learns the non-linear rest.
Set ``linear_shortcut=False`` for the paper's plain structure.

Kernels and memory
------------------
:meth:`HydraTeacher.encode` / :meth:`~HydraTeacher.decode` run the fast kernels of
:mod:`specrecon.models.teacher_kernels` by default (band-major ``(channels, bands,
pixels)`` layout, convolutions vectorised over pixels, nearest upsampling fused into
the next convolution): the same function, several times faster on CPU. The
straightforward ``Conv1d`` implementation below (``kernel="reference"``) is kept as
the oracle the fast path is tested against. Under autocast (bf16 / fp16 inference or
training) the fast kernels run in float32 with autocast switched off: the teacher's
per-pixel layers are small and exact-GELU float32 keeps the decoded spectra accurate. Both process pixels in chunks
(:attr:`HydraTeacher.chunk_elements` for the reference, ``fast_chunk_elements`` for
the fast path bound the largest activation per chunk). The loop is over chunks, never
over pixels.

Examples
--------
>>> import torch
>>> t = HydraTeacher(bands=31, latent=6, channels=(4, 8))
>>> t.encode(torch.rand(5, 31)).shape
torch.Size([5, 6])
>>> t(torch.rand(2, 31, 7, 9)).shape
torch.Size([2, 31, 7, 9])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from specrecon.errors import BandDimensionError, ConfigError, format_message
from specrecon.models import teacher_kernels
from specrecon.models.layers import (
    KERNELS,
    SqueezeExcitation1d,
    check_kernel,
    make_activation,
)

__all__ = ["HydraTeacher", "TeacherLevel", "TEACHER_KERNELS"]

#: Implementations of :meth:`HydraTeacher.encode` / :meth:`HydraTeacher.decode`:
#: ``"fast"`` (:mod:`specrecon.models.teacher_kernels`, the default) and
#: ``"reference"`` (plain ``Conv1d``, the oracle of the equivalence tests).
TEACHER_KERNELS: tuple[str, ...] = KERNELS


class TeacherLevel(nn.Module):
    """``F = act(Conv1d(x))``, ``F ⊙ SE(F)``: the shared body of an encoder/decoder level.

    Pooling (encoder) or upsampling (decoder) is applied by :class:`HydraTeacher`,
    which knows the lengths to crop back to.

    Examples
    --------
    >>> TeacherLevel(1, 4, 3, 2, "gelu")(torch.rand(2, 1, 31)).shape
    torch.Size([2, 4, 31])
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int, se_reduction: int,
                 activation: str) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel_size, padding=kernel_size // 2)
        self.act = make_activation(activation)
        self.se = SqueezeExcitation1d(c_out, se_reduction)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.se(self.act(self.conv(x)))


class HydraTeacher(nn.Module):
    """Per-pixel spectral autoencoder ``S ≈ Dec(Enc(S))`` (HYDRA eq. 1-2).

    Parameters
    ----------
    bands : int
        Spectral length of the input/output (any value >= 2, e.g. 31, 202, 204, 224).
    latent : int
        Numbers per pixel in the compressed code (paper: 6 for 31 bands, 17 for 202/204).
    channels : sequence of int
        Feature channels of the encoder levels (one ``/2`` pooling per level); the
        decoder uses them in reverse. Small widths keep the ``pixels x channels x bands``
        activations affordable on full tiles.
    kernel_size : int
        Odd 1-D kernel along the band axis.
    se_reduction : int
        Squeeze-excitation ratio.
    activation : str
        Non-linearity after each convolution (the paper's equations leave it implicit).
    linear_shortcut : bool
        Add the linear spectrum->latent and latent->spectrum maps described in the
        module notes ("Linear spectral shortcut").

    Attributes
    ----------
    chunk_elements : int
        Upper bound on ``pixels x channels x length`` for one chunk of pixels of the
        reference kernels.
    fast_chunk_elements : int
        The same bound for the fast kernels (2**21 floats = 8 MiB: the chunk size
        measured fastest on CPU, see ``benchmarks/results/profile_parts.md``).
    kernel : str
        Default implementation, one of :data:`TEACHER_KERNELS` (``"fast"``).

    Examples
    --------
    >>> t = HydraTeacher(bands=202, latent=17, channels=(4, 8, 8))
    >>> z = t.encode(torch.rand(1, 202, 4, 4))
    >>> z.shape, t.decode(z).shape
    (torch.Size([1, 17, 4, 4]), torch.Size([1, 202, 4, 4]))
    """

    def __init__(self, bands: int, latent: int, channels: Sequence[int] = (8, 16),
                 kernel_size: int = 5, se_reduction: int = 4,
                 activation: str = "gelu", linear_shortcut: bool = False) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if bands < 2 or latent < 1 or not channels or min(channels) < 1 or kernel_size % 2 != 1:
            raise ConfigError(format_message(
                "bands >= 2, latent >= 1, non-empty positive channels and an odd kernel_size",
                f"bands={bands}, latent={latent}, channels={channels}, "
                f"kernel_size={kernel_size}", "fix the teacher configuration"))
        self.bands = int(bands)
        self.latent = int(latent)
        self.channels = channels
        self.chunk_elements = 2 ** 24
        self.fast_chunk_elements = 2 ** 21
        self.kernel = "fast"
        # lengths before each pooling step, and the final length
        lengths = [self.bands]
        for _ in channels:
            lengths.append(-(-lengths[-1] // 2))
        self._lengths = lengths
        c_prev = 1
        enc = []
        for c in channels:
            enc.append(TeacherLevel(c_prev, c, kernel_size, se_reduction, activation))
            c_prev = c
        self.encoder = nn.ModuleList(enc)
        self.pool = nn.MaxPool1d(2, ceil_mode=True)
        flat = channels[-1] * lengths[-1]
        self.to_latent = nn.Linear(flat, self.latent)
        self.from_latent = nn.Linear(self.latent, flat)
        self.latent_act = make_activation(activation)
        dec = []
        outs = list(channels[:-1][::-1]) + [channels[0]]
        for c_in, c_out in zip(channels[::-1], outs):
            dec.append(TeacherLevel(c_in, c_out, kernel_size, se_reduction, activation))
        self.decoder = nn.ModuleList(dec)
        self.head = nn.Conv1d(channels[0], 1, kernel_size, padding=kernel_size // 2)
        self.linear_shortcut = bool(linear_shortcut)
        if self.linear_shortcut:
            self.enc_linear = nn.Linear(self.bands, self.latent, bias=False)
            self.dec_linear = nn.Linear(self.latent, self.bands, bias=False)

    # -- per-spectrum kernels (B, bands) <-> (B, latent) ---------------------------
    def _encode_spectra(self, s: torch.Tensor) -> torch.Tensor:
        centred = 2.0 * s - 1.0  # fixed centring, see "Conditioning"
        x = centred.unsqueeze(1)
        for level in self.encoder:
            x = self.pool(level(x))
        z = self.to_latent(x.flatten(1))
        return z + self.enc_linear(centred) if self.linear_shortcut else z

    def _decode_spectra(self, z: torch.Tensor) -> torch.Tensor:
        x = self.latent_act(self.from_latent(z))
        x = x.view(z.shape[0], self.channels[-1], self._lengths[-1])
        for level, length in zip(self.decoder, self._lengths[-2::-1]):
            x = level(x)
            x = torch.repeat_interleave(x, 2, dim=-1)[..., :length]  # nearest x2, crop
        y = self.head(x).squeeze(1)
        if self.linear_shortcut:
            y = y + self.dec_linear(z)
        return 0.5 * (y + 1.0)

    # -- shape handling -------------------------------------------------------------
    def _chunk_pixels(self, length: int) -> int:
        widest = max(self.channels) * max(length, self._lengths[0])
        return max(256, self.chunk_elements // widest)

    def _kernel(self, kernel: str | None) -> str:
        return check_kernel(self.kernel if kernel is None else kernel, "teacher")

    @staticmethod
    def _check(x: torch.Tensor, n_in: int, what: str) -> None:
        if x.ndim not in (2, 4) or x.shape[1] != n_in:
            raise BandDimensionError(format_message(
                f"{what} of shape (N, {n_in}) or (N, {n_in}, H, W)",
                f"shape {tuple(x.shape)}", "move the spectral axis to position 1"))

    def _per_pixel(self, fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                   n_in: int, n_out: int) -> torch.Tensor:
        if x.ndim == 2:
            flat = x
        else:
            n, _, h, w = x.shape
            flat = x.permute(0, 2, 3, 1).reshape(-1, n_in)
        step = self._chunk_pixels(n_in)
        if flat.shape[0] <= step:
            out = fn(flat)
        else:
            out = torch.cat([fn(flat[i:i + step]) for i in range(0, flat.shape[0], step)])
        if x.ndim == 2:
            return out
        return out.reshape(n, h, w, n_out).permute(0, 3, 1, 2).contiguous()

    def _dispatch(self, kernel: str | None, x: torch.Tensor, n_in: int, n_out: int, what: str,
                  fast: Callable[[HydraTeacher, torch.Tensor], torch.Tensor],
                  reference: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Check ``x`` and run the chosen kernel (the fast one in float32 under autocast)."""
        name = self._kernel(kernel)
        self._check(x, n_in, what)
        if name == "reference":
            return self._per_pixel(reference, x, n_in, n_out)
        if teacher_kernels.autocast_enabled(x):
            with torch.autocast(x.device.type, enabled=False):
                return fast(self, x.float())
        return fast(self, x)

    def encode(self, cube: torch.Tensor, kernel: str | None = None) -> torch.Tensor:
        """Compress spectra ``(N, bands)`` or images ``(N, bands, H, W)`` to the latent.

        Returns ``(N, latent)`` or ``(N, latent, H, W)``. ``kernel`` picks the
        implementation (:data:`TEACHER_KERNELS`; default :attr:`kernel`, ``"fast"``).

        Examples
        --------
        >>> HydraTeacher(31, 6, (4,)).encode(torch.rand(2, 31, 3, 3)).shape
        torch.Size([2, 6, 3, 3])
        """
        return self._dispatch(kernel, cube, self.bands, self.latent, "spectra",
                              teacher_kernels.encode, self._encode_spectra)

    def decode(self, latent: torch.Tensor, kernel: str | None = None) -> torch.Tensor:
        """Reconstruct spectra from ``(N, latent)`` or ``(N, latent, H, W)`` codes.

        ``kernel`` as in :meth:`encode`.

        Examples
        --------
        >>> HydraTeacher(31, 6, (4,)).decode(torch.rand(3, 6)).shape
        torch.Size([3, 31])
        """
        return self._dispatch(kernel, latent, self.latent, self.bands, "latent codes",
                              teacher_kernels.decode, self._decode_spectra)

    def encoder_parameters(self) -> list[nn.Parameter]:
        """Parameters of the encoder half (levels + ``to_latent`` [+ ``enc_linear``])."""
        extra = [*self.enc_linear.parameters()] if self.linear_shortcut else []
        return [*self.encoder.parameters(), *self.to_latent.parameters(), *extra]

    def decoder_parameters(self) -> list[nn.Parameter]:
        """Parameters of the decoder half (``from_latent`` + levels + ``head``).

        Stage 3 of HYDRA training unfreezes exactly these.

        Examples
        --------
        >>> t = HydraTeacher(31, 6, (4,))
        >>> n = sum(p.numel() for p in t.encoder_parameters() + t.decoder_parameters())
        >>> n == sum(p.numel() for p in t.parameters())
        True
        """
        extra = [*self.dec_linear.parameters()] if self.linear_shortcut else []
        return [*self.from_latent.parameters(), *self.decoder.parameters(),
                *self.head.parameters(), *extra]

    def forward(self, cube: torch.Tensor) -> torch.Tensor:
        """Autoencode: ``decode(encode(cube))`` for spectra or images."""
        return self.decode(self.encode(cube))
