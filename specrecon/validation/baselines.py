"""Pixelwise baselines for held-out validation: root-polynomial regression, a small
exposure-invariant MLP, the mean spectrum.

Root-polynomial regression (Finlayson, Mackiewicz and Hurlbert 2015) maps an RGB
triplet through the k-th roots of its degree-k monomials, so the expansion -- and
a linear map fitted on it -- scales exactly with exposure:

- degree 1: ``r, g, b`` (3 terms);
- degree 2: + ``sqrt(rg), sqrt(gb), sqrt(rb)`` (6 terms);
- degree 3: + ``cbrt(r g^2), cbrt(g b^2), cbrt(r b^2), cbrt(g r^2), cbrt(b g^2),
  cbrt(b r^2), cbrt(rgb)`` (13 terms).

Examples
--------
>>> import numpy as np
>>> rgb = np.array([[0.2, 0.3, 0.4]])
>>> root_polynomial_features(rgb, 2).shape
(1, 6)
>>> bool(np.allclose(root_polynomial_features(2 * rgb, 3), 2 * root_polynomial_features(rgb, 3)))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from specrecon.errors import ConfigError, format_message

__all__ = ["MeanSpectrum", "PixelMLP", "RootPolynomial", "root_polynomial_features"]


def _rgb_rows(rgb: Any) -> np.ndarray:
    """``(n, 3)`` RGB as float64 with negative values clipped to 0, or a ConfigError."""
    c = np.clip(np.asarray(rgb, "float64"), 0.0, None)
    if c.ndim != 2 or c.shape[1] != 3:
        raise ConfigError(format_message("(n, 3) RGB values", f"shape {c.shape}",
                                         "pass one RGB triplet per row"))
    return c


def root_polynomial_features(rgb: Any, degree: int) -> np.ndarray:
    """Finlayson's root-polynomial expansion of ``(n, 3)`` RGB values.

    Parameters
    ----------
    rgb : array-like
        ``(n, 3)``; negative values are clipped to 0 before the roots.
    degree : {1, 2, 3}
        Expansion degree (3, 6 or 13 terms).

    Returns
    -------
    numpy.ndarray
        ``(n, terms)`` float64.
    """
    if degree not in (1, 2, 3):
        raise ConfigError(format_message("degree 1, 2 or 3", repr(degree), "pick one of them"))
    c = _rgb_rows(rgb)
    r, g, b = c[:, 0], c[:, 1], c[:, 2]
    cols = [r, g, b]
    if degree >= 2:
        cols += [np.sqrt(r * g), np.sqrt(g * b), np.sqrt(r * b)]
    if degree >= 3:
        cols += [np.cbrt(r * g * g), np.cbrt(g * b * b), np.cbrt(r * b * b),
                 np.cbrt(g * r * r), np.cbrt(b * g * g), np.cbrt(b * r * r), np.cbrt(r * g * b)]
    return np.stack(cols, axis=1)


@dataclass
class RootPolynomial:
    """Least-squares root-polynomial regression RGB -> spectrum.

    Parameters
    ----------
    degree : {1, 2, 3}
        Expansion degree.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rgb = rng.uniform(0.05, 1.0, (50, 3))
    >>> w = rng.normal(size=(6, 4))
    >>> target = root_polynomial_features(rgb, 2) @ w
    >>> fit = RootPolynomial(2).fit(rgb, target)
    >>> bool(np.allclose(fit.predict(rgb), target))
    True
    """

    degree: int = 2
    coef: np.ndarray | None = None

    def fit(self, rgb: Any, spectra: Any) -> RootPolynomial:
        """Fit on ``(n, 3)`` RGB and ``(n, bands)`` spectra; returns ``self``."""
        x = root_polynomial_features(rgb, self.degree)
        y = np.asarray(spectra, "float64")
        if y.ndim != 2 or y.shape[0] != x.shape[0]:
            raise ConfigError(format_message(f"({x.shape[0]}, bands) spectra", f"{y.shape}",
                                             "pass one spectrum per RGB row"))
        self.coef = np.linalg.lstsq(x, y, rcond=None)[0]
        return self

    def predict(self, rgb: Any) -> np.ndarray:
        """``(n, bands)`` spectra for ``(n, 3)`` RGB."""
        if self.coef is None:
            raise ConfigError(format_message("a fitted regression", "an unfitted one",
                                             "call fit(rgb, spectra) first"))
        return root_polynomial_features(rgb, self.degree) @ self.coef


@dataclass
class MeanSpectrum:
    """The training set's mean spectrum, whatever the input.

    Examples
    --------
    >>> m = MeanSpectrum().fit(np.zeros((2, 3)), np.array([[0.0, 1.0], [1.0, 1.0]]))
    >>> m.predict(np.ones((3, 3))).tolist()
    [[0.5, 1.0], [0.5, 1.0], [0.5, 1.0]]
    """

    mean: np.ndarray | None = None

    def fit(self, rgb: Any, spectra: Any) -> MeanSpectrum:
        """Store the mean of ``(n, bands)`` spectra; returns ``self``."""
        self.mean = np.asarray(spectra, "float64").mean(axis=0)
        return self

    def predict(self, rgb: Any) -> np.ndarray:
        """The mean spectrum repeated for each of the ``(n, 3)`` RGB rows."""
        if self.mean is None:
            raise ConfigError(format_message("a fitted baseline", "an unfitted one",
                                             "call fit(rgb, spectra) first"))
        n = np.asarray(rgb).shape[0]
        return np.repeat(self.mean[None, :], n, axis=0)


def _mlp_features(rgb: Any) -> tuple[np.ndarray, np.ndarray]:
    """Chromaticity of ``(n, 3)`` RGB and its brightness ``r + g + b`` as ``(n, 1)``."""
    c = _rgb_rows(rgb)
    total = c.sum(axis=1, keepdims=True)
    safe = np.where(total > 0, total, 1.0)
    return c / safe, total


@dataclass
class PixelMLP:
    """A small MLP from RGB chromaticity to spectrum / brightness.

    The prediction is the network's output times the input's brightness
    ``r + g + b``, so it scales exactly with exposure like the root-polynomial
    regression, while the map from chromaticity to spectral shape is free-form.
    Trained with the MRAE loss (``|truth| + eps`` denominators on the brightness-
    normalised spectra), Adam, a fixed number of steps on minibatches, seeded: the
    same data give the same baseline. A stronger pixelwise reference than the
    regressions, not a method specrecon ships.

    Parameters
    ----------
    hidden : int
        Width of the two hidden layers.
    steps, lr, batch, eps, seed
        Training steps, Adam learning rate, minibatch size, MRAE guard, seed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rgb = rng.uniform(0.05, 1.0, (400, 3))
    >>> spectra = np.stack([rgb[:, 0] ** 2 / rgb.sum(1), rgb[:, 1], rgb[:, 2]], axis=1)
    >>> fit = PixelMLP(steps=300).fit(rgb, spectra)
    >>> bool(np.allclose(fit.predict(2 * rgb[:5]), 2 * fit.predict(rgb[:5]), rtol=1e-5))
    True
    """

    hidden: int = 64
    steps: int = 3000
    lr: float = 3e-3
    batch: int = 4096
    eps: float = 1e-3
    seed: int = 0
    net: Any = None

    def fit(self, rgb: Any, spectra: Any) -> PixelMLP:
        """Fit on ``(n, 3)`` RGB and ``(n, bands)`` spectra; returns ``self``."""
        import torch

        x, total = _mlp_features(rgb)
        y = np.asarray(spectra, "float64")
        if y.ndim != 2 or y.shape[0] != x.shape[0]:
            raise ConfigError(format_message(f"({x.shape[0]}, bands) spectra", f"{y.shape}",
                                             "pass one spectrum per RGB row"))
        keep = total[:, 0] > 0
        xt = torch.tensor(x[keep], dtype=torch.float32)
        yt = torch.tensor(y[keep] / total[keep], dtype=torch.float32)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            net = torch.nn.Sequential(
                torch.nn.Linear(3, self.hidden), torch.nn.GELU(),
                torch.nn.Linear(self.hidden, self.hidden), torch.nn.GELU(),
                torch.nn.Linear(self.hidden, y.shape[1]))
            opt = torch.optim.Adam(net.parameters(), lr=self.lr)
            n = xt.shape[0]
            for _ in range(int(self.steps)):
                idx = torch.randint(n, (min(int(self.batch), n),)) if n > self.batch else slice(None)
                pred, target = net(xt[idx]), yt[idx]
                loss = ((pred - target).abs() / (target.abs() + self.eps)).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.net = net.eval()
        return self

    def predict(self, rgb: Any) -> np.ndarray:
        """``(n, bands)`` spectra for ``(n, 3)`` RGB."""
        if self.net is None:
            raise ConfigError(format_message("a fitted baseline", "an unfitted one",
                                             "call fit(rgb, spectra) first"))
        import torch

        x, total = _mlp_features(rgb)
        with torch.no_grad():
            shape = self.net(torch.tensor(x, dtype=torch.float32)).numpy().astype("float64")
        return shape * total
