"""Where a class lies in the latent space, and how far a guess was: the class board's arithmetic.

The class board places each student's drawing at its posterior mean μ; it outlines a drawing whose
nearest class mean is not the class the student named, and after a question it says how far the
class's answers were from the true answer (the mean of that class's test points). Pure numpy.
"""

from __future__ import annotations

import numpy as np


def class_means(mu: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """The mean of each class's latent means: (n_classes, d); NaN rows for a class with no point."""
    mu = np.asarray(mu, np.float64)
    labels = np.asarray(labels).ravel()
    out = np.full((n_classes, mu.shape[1]), np.nan)
    for c in range(n_classes):
        idx = labels == c
        if idx.any():
            out[c] = mu[idx].mean(0)
    return out


def nearest_class(z: np.ndarray, means: np.ndarray) -> np.ndarray:
    """The index of the nearest class mean (Euclidean, all dimensions) for each row of z (n, d); -1 if none."""
    z = np.atleast_2d(np.asarray(z, np.float64))
    if not len(means) or np.isnan(means).all():
        return np.full(len(z), -1)
    d2 = ((z[:, None, :] - means[None, :, :]) ** 2).sum(-1)  # (n, classes)
    d2 = np.where(np.isnan(d2), np.inf, d2)
    return d2.argmin(1)


def answer_spread(answers: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """How far answers (n, d) fell from a target point (d,): the median distance of one answer,
    and the distance of the class's average answer. NaN for no answers."""
    answers = np.asarray(answers, np.float64).reshape(-1, len(target))
    if not len(answers):
        return {"median": float("nan"), "of_mean": float("nan"), "n": 0}
    dist = np.linalg.norm(answers - target, axis=1)
    return {
        "median": float(np.median(dist)),
        "of_mean": float(np.linalg.norm(answers.mean(0) - target)),
        "n": int(len(answers)),
    }
