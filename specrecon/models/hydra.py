"""HYDRA: student (RGB -> latent) + teacher (latent <-> spectrum).

``Hydra.forward(rgb) = teacher.decode(student(rgb))``. The pieces the three training
stages need are exposed directly:

- stage 1 (teacher alone, Huber): ``model.teacher(cube)`` or ``model.encode`` /
  ``model.decode``;
- stage 2 (student to the frozen teacher latent, MAE): ``model.forward_latent(rgb)``
  against ``model.encode(cube)`` under ``torch.no_grad()``;
- stage 3 (student + teacher decoder end to end, MSE): ``model(rgb)``, with
  ``model.teacher.decoder`` / ``from_latent`` / ``head`` unfrozen (see
  :meth:`HydraTeacher.decoder_parameters`-style selection in ``training``).

Examples
--------
>>> import torch
>>> from specrecon.models import create_model
>>> m = create_model("hydra-tiny-31")
>>> rgb = torch.rand(1, 3, 20, 24)
>>> m(rgb).shape, m.forward_latent(rgb).shape
(torch.Size([1, 31, 20, 24]), torch.Size([1, 6, 20, 24]))
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from specrecon.errors import ConfigError, format_message
from specrecon.models.layers import ReconstructionModel
from specrecon.models.student import HydraStudent
from specrecon.models.teacher import HydraTeacher

__all__ = ["HydraConfig", "Hydra"]


@dataclass(frozen=True)
class HydraConfig:
    """Architecture of a HYDRA model (everything the paper leaves open is a field).

    Parameters
    ----------
    bands : int
        Output spectral bands.
    latent : int
        Teacher latent size per pixel. Paper (Table 5): 6 for 31 bands, 17 for 202/204.
    teacher_channels : tuple of int
        Teacher encoder widths, one ``/2`` max-pool each. Default ``(8, 16)``: two pools
        reduce 31 bands to 8 positions (202 -> 51) before the linear bottleneck; widths
        stay small because teacher activations are ``pixels x channels x bands`` and the
        decoder runs on every output pixel.
    teacher_kernel : int
        Odd kernel along the band axis. 5 covers +-2 bands: neighbouring bands of a
        reflectance spectrum are strongly correlated, and stacking levels with pooling
        widens the receptive field to the whole spectrum.
    teacher_se_reduction : int
        Squeeze-excitation ratio; 4 (instead of SENet's 16) because the channel counts
        are small and ``C/16`` would collapse to a single hidden unit.
    teacher_activation : str
        Non-linearity after each teacher convolution (GELU: smooth, so smooth spectra
        decode smoothly).
    teacher_linear_shortcut : bool
        Linear spectrum->latent and latent->spectrum maps inside the teacher halves
        (see :mod:`specrecon.models.teacher`, "Linear spectral shortcut"); True because
        it lifts the teacher from below to above PCA quality at equal training steps.
    student_dim : int
        Student width ``C`` at full resolution (levels use ``C, 2C, 4C, 8C``).
    student_blocks : tuple of 4 int
        Transformer blocks per encoder level (increasing with depth, as in the paper).
    student_heads : tuple of 4 int
        Attention heads per level (Restormer's 1, 2, 4, 8 keeps the head width constant).
    student_decoder_blocks : tuple of 3 int or None
        Blocks of decoder levels 3, 2, 1; ``None`` mirrors the encoder.
    student_expansion : float
        DGDFN hidden-width factor (2.0: the two gated branches together are 4x wide).
    student_bias : bool
        Biases in the MDTA / DGDFN convolutions (off, as in Restormer).

    Examples
    --------
    >>> HydraConfig(bands=31, latent=6).teacher_channels
    (8, 16)
    """

    bands: int
    latent: int
    teacher_channels: tuple[int, ...] = (8, 16)
    teacher_kernel: int = 5
    teacher_se_reduction: int = 4
    teacher_activation: str = "gelu"
    teacher_linear_shortcut: bool = True
    student_dim: int = 16
    student_blocks: tuple[int, int, int, int] = (1, 1, 2, 2)
    student_heads: tuple[int, int, int, int] = (1, 2, 4, 8)
    student_decoder_blocks: tuple[int, int, int] | None = None
    student_expansion: float = 2.0
    student_bias: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):  # JSON round trips give lists: store tuples
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
        if not (isinstance(self.bands, int) and self.bands >= 2):
            raise ConfigError(format_message("bands >= 2 (int)", repr(self.bands),
                                             "set bands to the cube's band count"))
        if not (isinstance(self.latent, int) and 1 <= self.latent):
            raise ConfigError(format_message("latent >= 1 (int)", repr(self.latent),
                                             "use e.g. 6 for 31 bands, 17 for 202"))


class Hydra(ReconstructionModel):
    """The HYDRA teacher-student model.

    Parameters
    ----------
    config : HydraConfig
    name : str, optional
        Registry name.

    Attributes
    ----------
    teacher : HydraTeacher
    student : HydraStudent

    Examples
    --------
    >>> m = Hydra(HydraConfig(bands=31, latent=6, student_dim=4, student_heads=(1, 1, 1, 1),
    ...                       student_blocks=(1, 1, 1, 1)))
    >>> m(torch.rand(1, 3, 5, 7)).shape
    torch.Size([1, 31, 5, 7])
    """

    family = "hydra"

    def __init__(self, config: HydraConfig, name: str | None = None) -> None:
        super().__init__(config, name)
        c = config
        self.teacher = HydraTeacher(c.bands, c.latent, c.teacher_channels, c.teacher_kernel,
                                    c.teacher_se_reduction, c.teacher_activation,
                                    c.teacher_linear_shortcut)
        self.student = HydraStudent(c.latent, c.student_dim, c.student_blocks, c.student_heads,
                                    c.student_decoder_blocks, c.student_expansion,
                                    bias=c.student_bias)

    @property
    def latent(self) -> int:
        """Latent size per pixel."""
        return int(self.config.latent)

    def encode(self, cube: torch.Tensor) -> torch.Tensor:
        """Teacher encoding of spectra ``(N, bands)`` or cubes ``(N, bands, H, W)``."""
        return self.teacher.encode(cube)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Teacher decoding of ``(N, latent)`` or ``(N, latent, H, W)`` codes."""
        return self.teacher.decode(latent)

    def forward_latent(self, rgb: torch.Tensor) -> torch.Tensor:
        """Student prediction ``(N, latent, H, W)`` from RGB ``(N, 3, H, W)``."""
        return self.student(rgb)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``(N, bands, H, W)`` from RGB ``(N, 3, H, W)`` in [0, 1]."""
        return self.teacher.decode(self.student(rgb))
