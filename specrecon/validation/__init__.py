"""Real held-out validation: measured spectra never used for training, baselines, protocol.

- :func:`load_heldout` -- ``"real-natural"`` (luxpy data tables: IES TM-30, Munsell,
  Opstelten object reflectances) and ``"real-satellite"`` (earthlib's measured soil,
  built, dry-vegetation and burned spectra); see :mod:`specrecon.validation.data`.
- :func:`evaluate_real` -- the pixelwise protocol (uniform patches in a mosaic run
  through the model as a user would), the root-polynomial and mean-spectrum
  baselines, the physical-consistency option and the brightness check; see
  :mod:`specrecon.validation.protocol`.

Both data packages are in the optional ``validation`` extra
(``pip install specrecon[validation]``).

Examples
--------
>>> import specrecon.validation as v
>>> sorted(v.HELDOUT_SETS)
['real-natural', 'real-satellite']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from specrecon._lazy import lazy_exports

_LAZY = {
    "HELDOUT_SETS": "data",
    "HeldOutSet": "data",
    "MissingDataPackageError": "data",
    "load_heldout": "data",
    "natural_heldout": "data",
    "satellite_heldout": "data",
    "RootPolynomial": "baselines",
    "MeanSpectrum": "baselines",
    "root_polynomial_features": "baselines",
    "evaluate_real": "protocol",
    "render_heldout": "protocol",
    "training_pairs": "protocol",
    "score": "protocol",
    "align_scale": "protocol",
    "summarize": "protocol",
}

__all__ = [
    "HELDOUT_SETS",
    "HeldOutSet",
    "MeanSpectrum",
    "MissingDataPackageError",
    "RootPolynomial",
    "align_scale",
    "evaluate_real",
    "load_heldout",
    "natural_heldout",
    "render_heldout",
    "root_polynomial_features",
    "satellite_heldout",
    "score",
    "summarize",
    "training_pairs",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY,
                                    {"data", "baselines", "protocol"})

if TYPE_CHECKING:  # pragma: no cover
    from specrecon.validation.baselines import (
        MeanSpectrum,
        RootPolynomial,
        root_polynomial_features,
    )
    from specrecon.validation.data import (
        HELDOUT_SETS,
        HeldOutSet,
        MissingDataPackageError,
        load_heldout,
        natural_heldout,
        satellite_heldout,
    )
    from specrecon.validation.protocol import (
        align_scale,
        evaluate_real,
        render_heldout,
        score,
        summarize,
        training_pairs,
    )
