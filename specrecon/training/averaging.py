"""Exponential moving average of a stage's trained parameters (Polyak averaging).

A stage with ``ema_decay`` set keeps a running average of the parameters it trains,
updated after every optimizer step, and hands the average to the next stage instead of
the last step's weights, at no cost at inference. It matters where the last steps still
move the weights (a constant or high final learning rate, small noisy batches); the shipped
recipes' cosine schedules end at a learning rate of 1e-6, and on the satellite recipe an
average over the refinement's last ~1000 steps changed nothing measurable
(``benchmarks/results/retrain_candidates.md``).

Examples
--------
>>> import torch
>>> p = torch.nn.Parameter(torch.zeros(2))
>>> avg = WeightAverage([p], decay=0.5)
>>> with torch.no_grad():
...     _ = p.fill_(1.0)
>>> avg.update([p])
>>> avg.copy_to([p])
>>> p.tolist()   # first update: decay min(0.5, 2 / 11) = 0.18
[0.8181818127632141, 0.8181818127632141]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from specrecon.errors import ConfigError, format_message

__all__ = ["WeightAverage"]


class WeightAverage:
    """Running exponential average of a list of parameters.

    Parameters
    ----------
    params : sequence of torch.Tensor
        The parameters to average (their values at construction start the average).
    decay : float
        Weight of the old average per update, ``0 < decay < 1``. The effective decay
        of update ``n`` (counted from 1) is ``min(decay, (1 + n) / (10 + n))``, so the
        starting values are forgotten quickly and the average covers about the last
        ``1 / (1 - decay)`` steps.

    Notes
    -----
    The average is kept in float32 whatever the parameters' dtype.
    """

    def __init__(self, params: Sequence[torch.Tensor], decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ConfigError(format_message("an averaging decay in (0, 1)", repr(decay),
                                             "set e.g. ema_decay: 0.999, or leave it unset"))
        self.decay = float(decay)
        self.updates = 0
        self.shadow = [p.detach().to(torch.float32).clone() for p in params]

    def current_decay(self) -> float:
        """Decay that the next :meth:`update` applies."""
        n = self.updates + 1
        return min(self.decay, (1.0 + n) / (10.0 + n))

    @torch.no_grad()
    def update(self, params: Sequence[torch.Tensor]) -> None:
        """Fold the parameters' current values into the average.

        Parameters
        ----------
        params : sequence of torch.Tensor
            The averaged parameters, in the order given at construction.
        """
        d = self.current_decay()
        for s, p in zip(self.shadow, params, strict=True):
            s.mul_(d).add_(p.detach().to(torch.float32), alpha=1.0 - d)
        self.updates += 1

    @torch.no_grad()
    def copy_to(self, params: Sequence[torch.Tensor]) -> None:
        """Write the average into ``params`` (cast to each parameter's dtype)."""
        for s, p in zip(self.shadow, params, strict=True):
            p.copy_(s.to(p.dtype))

    def state_dict(self) -> dict[str, Any]:
        """Picklable state for a checkpoint (tensors on the CPU)."""
        return {"updates": self.updates,
                "shadow": [s.detach().cpu().clone() for s in self.shadow]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output (onto the device of the current average).

        The decay is not part of the state: it is the configuration's (``ema_decay``).
        """
        shadow = list(state["shadow"])
        if len(shadow) != len(self.shadow) or any(
                a.shape != b.shape for a, b in zip(shadow, self.shadow, strict=True)):
            raise ConfigError(format_message(
                "an averaged-weights state of the same parameters",
                f"{len(shadow)} tensors of other shapes",
                "resume with the config that wrote the checkpoint"))
        self.updates = int(state["updates"])
        self.shadow = [t.to(device=s.device, dtype=torch.float32)
                       for t, s in zip(shadow, self.shadow, strict=True)]
