"""The calibrated scorer: a logistic regression over :mod:`unspin.features`.

Weights are package data (``data/model.json``), rebuilt by ``scripts/train_model.py`` from the
real development pages. The file carries its format version, feature list, the verdict
thresholds, training provenance (the corpus hash) and the out-of-fold figures it was accepted
with. The Platt calibration is folded into the weights, so the score is the calibrated
probability for a balanced mix of spun and clean pages. Inference is a dot product: no numpy
needed at run time.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources

from .errors import UnspinError
from .features import FEATURES

FORMAT = 2  # 2: verdict thresholds in the file; trained on real pages


@dataclass(frozen=True)
class Model:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    #: (spun, clean): ``spun`` at or above the first, ``clean`` below the second
    thresholds: tuple[float, float]
    meta: dict

    def contributions(self, feats: dict[str, float]) -> dict[str, float]:
        """Each feature's additive contribution to the log-odds. Values are clipped to the
        range seen in training, so an unusual document cannot extrapolate a linear term."""
        return {
            name: c * ((min(max(feats.get(name, 0.0), lo), hi) - m) / s)
            for name, m, s, c, lo, hi in zip(self.features, self.mean, self.scale, self.coef, self.lo, self.hi)
        }

    def score(self, feats: dict[str, float]) -> float:
        z = self.intercept + sum(self.contributions(feats).values())
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


def parse_model(data: dict) -> Model:
    if data.get("format") != FORMAT:
        raise UnspinError(f"model file has format {data.get('format')!r}, expected {FORMAT}; rebuild with scripts/train_model.py")
    feats = tuple(data["features"])
    unknown = [f for f in feats if f not in FEATURES]
    if unknown:
        raise UnspinError(f"model file uses unknown features {unknown}; rebuild with scripts/train_model.py")
    n = len(feats)
    if not (len(data["mean"]) == len(data["scale"]) == len(data["coef"]) == n):
        raise UnspinError("model file is inconsistent (vector lengths differ)")
    if not (len(data["lo"]) == len(data["hi"]) == n):
        raise UnspinError("model file is inconsistent (clip ranges)")
    th = data.get("thresholds")
    if not isinstance(th, dict) or not all(isinstance(th.get(k), (int, float)) for k in ("spun", "clean")) \
            or not 0.0 <= th["clean"] <= th["spun"] <= 1.0:
        raise UnspinError(f"model file has bad thresholds {th!r} (need 0 <= clean <= spun <= 1)")
    return Model(feats, tuple(data["mean"]), tuple(data["scale"]), tuple(data["coef"]), float(data["intercept"]),
                 tuple(data["lo"]), tuple(data["hi"]), (float(th["spun"]), float(th["clean"])), data.get("meta", {}))


@functools.cache
def model() -> Model:
    try:
        raw = resources.files("unspin").joinpath("data/model.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UnspinError("the scoring model is missing; rebuild it with: python scripts/train_model.py") from None
    return parse_model(json.loads(raw))
