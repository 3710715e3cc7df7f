"""vae_core: a 2-D-latent Variational Autoencoder (Kingma & Welling, 2013), its SGVB
estimators, fast training, self-describing checkpoints and the latent-space tools the
explorer app draws with. No UI code lives here.
"""

from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .data import Dataset, load_dataset
from .datasets import DATASETS, DatasetInfo, dataset_info
from .elbo import ELBOTerms, elbo_terms, iw_log_likelihood, kl_std_normal
from .errors import (
    CheckpointError,
    ConfigError,
    DataUnavailableError,
    ImageError,
    InputError,
    TrainingDiverged,
    VAECoreError,
)
from .evaluate import Metrics, encode, evaluate
from .model import VAE, VAEConfig, VAEOutput, parse_hidden
from .settings import build_configs, defaults_for, user_settings
from .train import EpochReport, TrainConfig, TrainResult, train

__all__ = [
    "VAE",
    "VAEConfig",
    "VAEOutput",
    "ELBOTerms",
    "elbo_terms",
    "iw_log_likelihood",
    "kl_std_normal",
    "Dataset",
    "load_dataset",
    "DATASETS",
    "DatasetInfo",
    "dataset_info",
    "parse_hidden",
    "build_configs",
    "defaults_for",
    "user_settings",
    "TrainConfig",
    "TrainResult",
    "EpochReport",
    "train",
    "Checkpoint",
    "load_checkpoint",
    "save_checkpoint",
    "Metrics",
    "evaluate",
    "encode",
    "VAECoreError",
    "ConfigError",
    "DataUnavailableError",
    "CheckpointError",
    "ImageError",
    "InputError",
    "TrainingDiverged",
]
__version__ = "0.1.0"
