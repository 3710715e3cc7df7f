import numpy as np

from vae_core.latent_stats import answer_spread, class_means, nearest_class


def test_class_means_and_nearest_class_agree_with_the_points():
    rng = np.random.default_rng(0)
    centres = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    labels = np.repeat([0, 1, 2], 50)
    mu = centres[labels] + rng.normal(0, 0.3, (150, 2))
    means = class_means(mu, labels, 4)  # class 3 has no point
    assert np.allclose(means[:3], centres, atol=0.15)
    assert np.isnan(means[3]).all()
    assert (nearest_class(mu, means) == labels).all()
    assert nearest_class(np.zeros((1, 2)), np.full((2, 2), np.nan)).tolist() == [-1]


def test_answer_spread_measures_distances_from_the_target():
    target = np.array([1.0, 1.0])
    answers = np.array([[1.0, 2.0], [1.0, 0.0], [4.0, 5.0]])  # distances 1, 1, 5; mean answer (2, 7/3)
    s = answer_spread(answers, target)
    assert s["n"] == 3 and s["median"] == 1.0
    assert np.isclose(s["of_mean"], np.hypot(1.0, 4 / 3))
    assert np.isnan(answer_spread(np.zeros((0, 2)), target)["median"])
