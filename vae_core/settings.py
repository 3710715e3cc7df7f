"""The settings a user chooses, gathered from VAEConfig and TrainConfig into one namespace.

The CLI's `train` arguments and the app's Train form are both generated from here, and both
start from the same per-dataset defaults (the dataset registry's `defaults` over the
dataclasses' own). Field names are unique across the two configs (a test checks it).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from .datasets import DATASETS
from .errors import ConfigError
from .fields import Spec, check_value, kind_of, specs
from .model import VAEConfig
from .train import TrainConfig

CONFIGS = (VAEConfig, TrainConfig)


@dataclass(frozen=True)
class Setting:
    name: str  # the field name (and the form's widget key suffix)
    owner: type  # VAEConfig or TrainConfig
    default: Any  # the dataclass default (see defaults_for for a dataset's)
    spec: Spec

    @property
    def kind(self) -> str:
        return kind_of(self.default)

    @property
    def flag(self) -> str:
        return self.spec.flag or "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        return check_value(self.name, value, self.default, self.spec)


def user_settings() -> dict[str, Setting]:
    """Every setting a user may choose (not those taken from the data), model settings first."""
    out: dict[str, Setting] = {}
    for cls in CONFIGS:
        for name, (default, spec) in specs(cls).items():
            if spec.user:
                out[name] = Setting(name, cls, default, spec)
    return out


def defaults_for(dataset: str) -> dict[str, Any]:
    """name -> default value of every user setting for `dataset` (registry defaults win)."""
    info = DATASETS.get(dataset)
    if info is None:
        raise ConfigError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    return {name: info.defaults.get(name, s.default) for name, s in user_settings().items()}


def build_configs(dataset: str, values: dict[str, Any] | None = None) -> tuple[VAEConfig, TrainConfig]:
    """The model and training configs for `dataset` from the given values over its defaults.

    Raises ConfigError naming the first bad setting; nothing is loaded or trained.
    """
    values = dict(values or {})
    settings = user_settings()
    unknown = sorted(set(values) - set(settings))
    if unknown:
        raise ConfigError(f"unknown settings {unknown}; known: {', '.join(settings)}")
    merged = {**defaults_for(dataset), **values}
    split = {cls: {n: v for n, v in merged.items() if settings[n].owner is cls} for cls in CONFIGS}
    model = VAEConfig(input_shape=DATASETS[dataset].image_shape, **split[VAEConfig])
    return model, TrainConfig(**split[TrainConfig])


def _arg_type(s: Setting):
    def convert(text: str):
        try:
            if s.kind == "ints":
                return s.check(text)
            return s.check({"int": int, "float": float}.get(s.kind, str)(text))
        except (ConfigError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def add_arguments(parser: argparse.ArgumentParser, skip: frozenset[str] = frozenset()) -> None:
    """One option per user setting (but those in `skip`). Defaults are None, so that the dataset's
    defaults apply (values_from_args returns only what was given)."""
    for s in user_settings().values():
        if s.name in skip:
            continue
        default = s.default if s.kind != "ints" else ",".join(map(str, s.default))
        text = f"{s.spec.help} (default: {default}, or the dataset's)"
        if s.kind == "bool":
            parser.add_argument(s.flag, dest=s.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            parser.add_argument(s.flag, dest=s.name, type=_arg_type(s), default=None, help=text, choices=s.spec.choices)


def values_from_args(ns: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line (those left out are not in the result)."""
    return {n: getattr(ns, n) for n in user_settings() if getattr(ns, n, None) is not None}


SWEEP_ALIASES = {"seed": "--seeds"}  # the plural reads better for a list; --seed works too


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """The sweep command's options: every sweepable setting takes values separated by commas (the
    values are checked by vae_core.batched.parse_sweep); the others take one value, as in train."""
    from .batched import sweepable_settings

    sweepable = sweepable_settings()
    for s in user_settings().values():
        if s.name not in sweepable:
            continue
        flags = [s.flag] + ([SWEEP_ALIASES[s.name]] if s.name in SWEEP_ALIASES else [])
        parser.add_argument(
            *flags,
            dest="sweep_" + s.name,
            default=None,
            metavar="V[,V...]",
            help=f"{s.spec.help}; one value or several",
        )
    parser.add_argument(
        "--n-train", dest="sweep_n_train", default=None, metavar="N[,N...]", help="train on the first N training images"
    )
    add_arguments(parser, skip=frozenset(sweepable))


def sweep_texts_from_args(ns: argparse.Namespace) -> dict[str, str]:
    """The swept settings given on the command line: name -> the text of their values."""
    return {k[len("sweep_") :]: v for k, v in vars(ns).items() if k.startswith("sweep_") and v is not None}
