"""The two textbook losses the Concepts page discusses are negative ELBOs up to constants."""

import pytest
import torch

from vae_core.concepts import copied_loss, gaussian_neg_elbo, textbook_constants, textbook_loss


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_copied_loss_is_the_negative_elbo_of_a_half_variance_decoder(seed):
    g = torch.Generator().manual_seed(seed)
    x, x_mean = torch.rand(4, 16, generator=g), torch.rand(4, 16, generator=g)
    mu, logvar = torch.randn(4, 2, generator=g), torch.randn(4, 2, generator=g)
    want = gaussian_neg_elbo(x, x_mean, mu, logvar, variance=0.5) - textbook_constants(16)["half_variance_beta2"]
    assert torch.allclose(copied_loss(x, x_mean, mu, logvar), want, atol=1e-4)
    # and the textbook's version, without the 1/2, pays the KL twice: the difference is exactly one KL
    kl = gaussian_neg_elbo(x, x, mu, logvar, variance=1.0) - gaussian_neg_elbo(x, x, mu, logvar, variance=1.0, beta=0)
    assert torch.allclose(textbook_loss(x, x_mean, mu, logvar) - copied_loss(x, x_mean, mu, logvar), kl, atol=1e-4)
