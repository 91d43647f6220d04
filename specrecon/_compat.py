"""Imports of optional heavy dependencies, with their side effects contained."""

from __future__ import annotations

from types import ModuleType

__all__ = ["import_colour"]


def import_colour() -> ModuleType:
    """Import colour-science without letting it change numpy's print options.

    colour-science 0.4.x sets ``numpy.set_printoptions(legacy="1.13")`` when first
    imported, which changes how every array prints in the user's session (and
    breaks doctests). specrecon imports it lazily, so restore the options around
    the first import.

    Returns
    -------
    module
        The ``colour`` package.

    Examples
    --------
    >>> import numpy as np
    >>> before = np.get_printoptions()
    >>> colour = import_colour()
    >>> np.get_printoptions() == before
    True
    """
    import numpy as np

    options = np.get_printoptions()
    try:
        import colour
    finally:
        np.set_printoptions(**options)
    return colour
