"""HydraTeacher: shapes for any band count / latent, consistency, learning, memory."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from specrecon.errors import BandDimensionError
from specrecon.models import HydraTeacher


@pytest.mark.parametrize("bands,latent,channels", [
    (31, 6, (4, 8)), (202, 17, (4, 8, 8)), (204, 17, (4, 8)), (224, 13, (4,)),
    (33, 5, (4, 4, 4)), (7, 3, (2, 2)), (2, 1, (2,)),
])
def test_shapes_any_band_count(bands: int, latent: int, channels: tuple[int, ...]) -> None:
    t = HydraTeacher(bands, latent, channels)
    s = torch.rand(5, bands)
    z = t.encode(s)
    assert z.shape == (5, latent)
    assert t.decode(z).shape == (5, bands)
    img = torch.rand(2, bands, 3, 4)
    assert t.encode(img).shape == (2, latent, 3, 4)
    assert t(img).shape == img.shape


def test_spectra_and_image_paths_agree() -> None:
    t = HydraTeacher(31, 6, (4, 8)).eval()
    img = torch.rand(2, 31, 5, 6)
    spectra = img.permute(0, 2, 3, 1).reshape(-1, 31)
    with torch.no_grad():
        z_img = t.encode(img)
        z_spec = t.encode(spectra)
        assert torch.allclose(z_img.permute(0, 2, 3, 1).reshape(-1, 6), z_spec, atol=1e-6)
        # the pixel at (n=1, y=2, x=3) is row 1*30 + 2*6 + 3 of the spectra
        assert torch.allclose(z_img[1, :, 2, 3], z_spec[30 + 12 + 3], atol=1e-6)
        out_img = t.decode(z_img)
        out_spec = t.decode(z_spec)
        assert torch.allclose(out_img.permute(0, 2, 3, 1).reshape(-1, 31), out_spec, atol=1e-6)


def test_chunking_gives_identical_results() -> None:
    t = HydraTeacher(31, 6, (4, 8)).eval()
    img = torch.rand(1, 31, 16, 16)
    with torch.no_grad():
        whole = t(img)
        t.chunk_elements = 1  # forces the minimum chunk of 256 pixels -> 1 chunk per row block
        assert t._chunk_pixels(31) == 256
        chunked = t(img)
    assert torch.allclose(whole, chunked, atol=1e-6)


def test_pixels_are_independent() -> None:
    """Per-pixel model: changing one pixel changes only that pixel's output."""
    t = HydraTeacher(31, 6, (4, 8)).eval()
    img = torch.rand(1, 31, 4, 4)
    img2 = img.clone()
    img2[0, :, 1, 2] += 0.5
    with torch.no_grad():
        diff = (t(img) - t(img2)).abs().sum(1)[0]
    assert diff[1, 2] > 0
    diff[1, 2] = 0
    assert diff.max() == 0


def test_wrong_band_count() -> None:
    t = HydraTeacher(31, 6, (4,))
    with pytest.raises(BandDimensionError, match="31"):
        t.encode(torch.rand(2, 30))
    with pytest.raises(BandDimensionError):
        t.decode(torch.rand(2, 7, 3, 3))


def _smooth_spectra(n: int, bands: int, generator: torch.Generator) -> torch.Tensor:
    x = torch.linspace(0, 1, bands)
    centre = torch.rand(n, 1, generator=generator)
    width = 0.1 + 0.3 * torch.rand(n, 1, generator=generator)
    amp = 0.2 + 0.5 * torch.rand(n, 1, generator=generator)
    offset = 0.05 + 0.2 * torch.rand(n, 1, generator=generator)
    slope = 0.2 * (torch.rand(n, 1, generator=generator) - 0.5)
    return offset + slope * x + amp * torch.exp(-((x - centre) / width) ** 2)


@pytest.mark.parametrize("bands,latent,channels", [(31, 6, (8, 16)), (202, 17, (4, 8, 8))])
def test_teacher_learns_smooth_spectra(bands: int, latent: int,
                                       channels: tuple[int, ...]) -> None:
    gen = torch.Generator().manual_seed(1)
    spectra = _smooth_spectra(256, bands, gen)
    t = HydraTeacher(bands, latent, channels)
    opt = torch.optim.Adam(t.parameters(), lr=1e-2)
    with torch.no_grad():
        start = F.huber_loss(t(spectra), spectra, delta=0.1).item()
    for _ in range(100):
        opt.zero_grad()
        loss = F.huber_loss(t(spectra), spectra, delta=0.1)
        loss.backward()
        opt.step()
    with torch.no_grad():
        end = F.huber_loss(t(spectra), spectra, delta=0.1).item()
    assert end < start / 10, (start, end)


def test_tile_memory_is_bounded() -> None:
    """A 256 x 256 tile of a 202-band cube encodes/decodes in chunks (no full-size activation)."""
    t = HydraTeacher(202, 17, (8, 16, 32)).eval()
    assert t._chunk_pixels(202) * 32 * 202 <= t.chunk_elements
    z = torch.rand(1, 17, 256, 256)
    with torch.no_grad():
        out = t.decode(z)
    assert out.shape == (1, 202, 256, 256)


def test_linear_shortcut_parameters_belong_to_their_half() -> None:
    plain = HydraTeacher(31, 6, (4, 8), linear_shortcut=False)
    short = HydraTeacher(31, 6, (4, 8), linear_shortcut=True)
    n_plain = sum(p.numel() for p in plain.parameters())
    assert sum(p.numel() for p in short.parameters()) == n_plain + 2 * 31 * 6
    enc_ids = {id(p) for p in short.encoder_parameters()}
    dec_ids = {id(p) for p in short.decoder_parameters()}
    assert id(short.enc_linear.weight) in enc_ids and id(short.enc_linear.weight) not in dec_ids
    assert id(short.dec_linear.weight) in dec_ids and id(short.dec_linear.weight) not in enc_ids
    # the shortcut changes the output (it is used), and spectra/images still agree
    x = torch.rand(2, 31, 3, 4)
    flat = x.permute(0, 2, 3, 1).reshape(-1, 31)
    torch.testing.assert_close(short(x).permute(0, 2, 3, 1).reshape(-1, 31), short(flat))
