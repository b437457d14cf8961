"""Customer segments: KMeans on the model's customer embeddings, with a profile per segment.

Customers the model represents alike are customers it expects to want alike, so
segments are clusters of the embeddings the recommendations come from. ``k="auto"``
picks the K in ``AUTO_RANGE`` with the best silhouette of a KMeans on a sample of at most
``SAMPLE`` customers, then clusters every customer with that K (so the choice stays fast at
50,000 customers); silhouettes are reported on the sample.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_samples

AUTO_RANGE = range(3, 11)
SAMPLE = 2_000


@dataclass
class Segmentation:
    labels: np.ndarray  # segment of each customer, 1..k
    k: int
    silhouette: float  # mean over all customers (of the sample)
    segment_silhouette: dict  # segment -> mean silhouette of its members (of the sample)


def segment(embeddings: np.ndarray, k: int | str = "auto", seed: int = 0) -> Segmentation:
    """Cluster customer embeddings into ``k`` segments (or the best K by silhouette)."""
    x = np.asarray(embeddings, dtype=np.float64)
    x = (x - x.mean(0)) / np.where(x.std(0) > 1e-12, x.std(0), 1.0)
    n = len(x)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, SAMPLE, replace=False)) if n > SAMPLE else np.arange(n)
    candidates = [k] if k != "auto" else [c for c in AUTO_RANGE if c < n]
    if not candidates or candidates[0] > n or n < 3:
        return Segmentation(np.ones(n, dtype=int), 1, 0.0, {1: 0.0})
    fitted = {}

    def fit(c: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """KMeans with ``c`` clusters on ``x[rows]``: labels of ``rows``, silhouettes of the sample."""
        if (c, len(rows)) not in fitted:
            labels = KMeans(n_clusters=c, n_init=4, random_state=seed).fit_predict(x[rows])
            on_sample = labels[np.searchsorted(rows, sample)]  # rows and sample are sorted, sample within rows
            per = silhouette_samples(x[sample], on_sample) if len(set(on_sample)) > 1 else np.zeros(len(sample))
            fitted[c, len(rows)] = labels, per
        return fitted[c, len(rows)]

    # choose K on the sample, then cluster every customer with it
    c = max(candidates, key=lambda c: fit(c, sample)[1].mean()) if len(candidates) > 1 else candidates[0]
    labels, per = fit(c, np.arange(n))
    score = float(per.mean())
    by_segment = {
        int(s) + 1: float(per[labels[sample] == s].mean()) if (labels[sample] == s).any() else 0.0 for s in range(c)
    }
    return Segmentation(labels.astype(int) + 1, c, score, by_segment)


def profiles(
    seg: Segmentation,
    customers: pd.DataFrame,
    held: np.ndarray,
    recommended: np.ndarray,
    product_ids: list[str],
    run_id: str,
    top: int = 3,
) -> list[dict]:
    """One property map per segment: size, silhouette, dominant facts, averages, top products.

    ``customers`` is in model order; ``held`` and ``recommended`` are boolean
    ``[customers, products]`` matrices.
    """
    out = []
    for s in range(1, seg.k + 1):
        members = seg.labels == s
        rows = customers[members]
        kind, industry, location = (_dominant(rows[c]) for c in ("customerType", "industry", "location"))
        out.append(
            {
                "segmentKey": f"{run_id}/{s}",
                "segmentId": s,
                "runId": run_id,
                "size": int(members.sum()),
                "silhouette": round(seg.segment_silhouette.get(s, 0.0), 4),
                "runSilhouette": round(seg.silhouette, 4),
                "dominantType": kind,
                "dominantIndustry": industry,
                "dominantLocation": location,
                "avgCreditScore": _mean(rows["creditScore"]),
                "avgDefaultProbability": _mean(rows["defaultProbability"]),
                "highRiskShare": round(float((rows["riskRating"] == "High").mean()), 4) if len(rows) else 0.0,
                "mostAdopted": _most(held[members], product_ids, top),
                "mostRecommended": _most(recommended[members], product_ids, top),
                "name": f"Segment {s}: "
                + (" · ".join(str(v) for v in (kind, industry, location) if v is not None) or "mixed"),
            }
        )
    return out


def _dominant(values: pd.Series) -> object:
    """The most frequent value (ties: the first by name); None when there is none."""
    counts = Counter(v for v in values if v is not None and v == v)
    return min(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[0] if counts else None


def _mean(values: pd.Series) -> float | None:
    numbers = pd.to_numeric(values, errors="coerce")
    return round(float(numbers.mean()), 4) if numbers.notna().any() else None


def _most(matrix: np.ndarray, product_ids: list[str], top: int) -> list[str]:
    """The ``top`` products held (or recommended) by most of the matrix's customers."""
    counts = matrix.sum(0)
    order = np.argsort(-counts, kind="stable")
    return [product_ids[i] for i in order[:top] if counts[i] > 0]
