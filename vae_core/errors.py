"""The package's own error types: every failure a user can cause raises one of these.

Each message says what was wrong and what to do; callers (CLI, app) show the message and
never a stack trace.
"""


class VAECoreError(Exception):
    """Base class of every error vae_core raises on purpose."""


class ConfigError(VAECoreError, ValueError):
    """A model or training setting is out of range or of the wrong type."""


class InputError(VAECoreError, ValueError):
    """Images or latent vectors given to a public function have the wrong shape, type or values."""


class DataUnavailableError(VAECoreError):
    """A dataset could not be found offline nor downloaded."""


class CheckpointError(VAECoreError):
    """A file is not a readable vae_core checkpoint, or does not match its own config."""


class ImageError(VAECoreError):
    """A user's image cannot be read or is outside the accepted limits."""


class TrainingDiverged(VAECoreError):
    """The loss became NaN or infinite; the last good weights were kept."""
