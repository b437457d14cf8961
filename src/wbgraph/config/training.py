"""How to train: :class:`TrainConfig`, from defaults, a TOML file and options."""

from __future__ import annotations

import json
import re
import tomllib
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

from ..errors import ConfigError
from ..graphmodel import CUSTOMER_ATTRIBUTES, GROUP_KEY, PRODUCT_ATTRIBUTES
from ..horizon import Horizon, parse_date

ATTRIBUTES = CUSTOMER_ATTRIBUTES + PRODUCT_ATTRIBUTES + (GROUP_KEY,)  # what a run may leave out (``ignore``)


BEHAVIOUR = ("trajectory", "changes", "reactivations")  # wbgraph.gnn.behaviour.GROUPS: what a run may add


SIZE_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
SIZE_UNITS |= {"K": 2**10, "KIB": 2**10, "M": 2**20, "MIB": 2**20, "G": 2**30, "GIB": 2**30, "T": 2**40, "TIB": 2**40}


def parse_size(text: str, name: str = "size") -> int:
    """Bytes in a size such as ``6GB``, ``512MB``, ``1.5GiB`` or ``4g`` (a bare number is bytes)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([A-Za-z]*)\s*", str(text))
    unit = match and SIZE_UNITS.get(match.group(2).upper())
    if not unit or float(match.group(1)) <= 0:
        raise ConfigError(f"{name} must be a size such as 6GB or 512MB, not {text!r}.")
    return int(float(match.group(1)) * unit)


Loss = Literal["softmax", "bpr"]


Protocol = Literal["latest", "asof"]


GatTask = Literal["auto", "mask", "temporal", "both"]


@dataclass
class TrainConfig:
    """Hyperparameters and data selection of a training run.

    A TOML or JSON file (``wbgraph train --config``) and options override these defaults; a
    value of the wrong type or outside its choices is a :class:`ConfigError`, never ignored.
    ``loss``: ``"softmax"`` scores each hidden link against every product the customer does
    not hold (the likelihood of the next adoption, what the test measures); ``"bpr"`` against
    one random product. ``protocol`` (:mod:`wbgraph.gnn.asof`): ``latest`` holds out each
    customer's latest interactions (``holdout_share``); ``asof`` asks, at ``cutoff`` (default:
    one ``horizon`` before the day after the latest transaction), which products each
    customer newly takes within the ``horizon``; a ``cutoff`` alone means ``asof``.
    ``ignore``: attributes left out of the model and of every attribute-using baseline.
    ``behaviour``: groups of the customers' behaviour features (:mod:`wbgraph.gnn.behaviour`,
    as-of only) added to the model's customer features; none by default, as none helped on
    validation on the data we have (docs/benchmarks.md).
    ``gat_task``: what the GAT part learns (:class:`wbgraph.gnn.losses.Question`): hidden links
    (``mask``), the earlier question's answers (``temporal``), both, or (``auto``) the hidden links to
    their early stop, then the earlier questions from their best weights, the better epoch on
    validation kept (:meth:`wbgraph.gnn.loop.Training._go_on_temporal`; not where the GAT part
    alone is out of the item channel's reach: :meth:`~wbgraph.gnn.loop.Training._out_of_reach`);
    the earlier questions at ``temporal_dropout`` (a fine-tune on a window's few thousand answers,
    where the hidden links, every holding a lesson, need none: ``dropout``).
    ``windows``: how many of the latest earlier questions the ``temporal`` task learns from, one
    an epoch in turn, oldest first (as-of: one a training window; latest: there is one); the
    refit learns as many, one window later. Each is a graph held while training.
    ``hard_negatives``: the offers customers declined, as known at each question's date (the
    latest protocol: all of them), lower the GAT part's chance of the declined product
    (:func:`wbgraph.gnn.losses.declined_loss`); off by default (measured: docs/benchmarks.md).
    """

    epochs: int = 400
    hidden: int = 64
    heads: int = 2
    layers: int = 1
    dropout: float = 0.0
    temporal_dropout: float = 0.1  # gat_task auto: the GAT part's dropout while it learns the earlier questions
    lr: float = 0.01
    weight_decay: float = 1e-5
    patience: int = 20
    supervision_ratio: float = 0.3
    holdout_share: float = 0.2
    channel: bool = True
    evidence: bool = True  # interaction edges carry signed evidence (EvidenceGATv2Conv); false: plain GATv2
    refit: bool = True  # after early stopping, the chosen epochs again on training + validation: the saved model
    loss: Loss = "softmax"
    gat_task: GatTask = "auto"  # what the GAT part learns: mask, temporal, both, or auto (mask, then temporal)
    windows: int = 12  # the temporal task's earlier questions: the latest this many, one an epoch in turn
    seed: int = 0
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    memory_budget: str | None = None  # e.g. "6GB"; None: half the memory free where training runs (the GPU's on CUDA)
    fanout: int = 256  # in customer batches: customers sampled per product each step
    batch_customers: int = 0  # customers per optimiser step; 0: all at once when the graph fits memory_budget
    since: str | None = None
    until: str | None = None
    customer_type: str | None = None
    location: str | None = None
    protocol: Protocol | None = None  # None: asof with a cutoff, else latest
    cutoff: str | None = None
    horizon: str = "1m"
    ignore: list[str] = field(default_factory=list)
    behaviour: list[str] = field(default_factory=list)  # trajectory, changes, reactivations (as-of only)
    hard_negatives: bool = False  # declined offers (wbgraph outcomes ingest) taught as products not to propose

    def __post_init__(self) -> None:
        if self.protocol is None:
            self.protocol = "asof" if self.cutoff is not None else "latest"
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value, hint = getattr(self, f.name), hints[f.name]
            if hint == Protocol | None:
                hint = Protocol
            if typing.get_origin(hint) is Literal:
                if value not in typing.get_args(hint):
                    raise ConfigError(f"{f.name} must be one of {', '.join(typing.get_args(hint))}, not {value!r}.")
            elif hint is bool and not isinstance(value, bool):
                raise ConfigError(f"{f.name} must be true or false, not {value!r}.")
            elif hint is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f"{f.name} must be a whole number, not {value!r}.")
            elif hint is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ConfigError(f"{f.name} must be a number, not {value!r}.")
            elif hint in (str, str | None) and value is not None and not isinstance(value, str):
                raise ConfigError(f"{f.name} must be text, not {value!r}.")
            elif hint == list[str] and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ConfigError(f"{f.name} must be a list of names, not {value!r}.")
        if self.memory_budget is not None:
            parse_size(self.memory_budget, "memory_budget")
        for name in ("epochs", "hidden", "heads", "layers", "patience", "fanout", "windows"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be 1 or more, not {getattr(self, name)}.")
        if self.batch_customers < 0:
            raise ConfigError(f"batch_customers must be 0 (all at once) or more, not {self.batch_customers}.")
        if self.hidden % self.heads:
            raise ConfigError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads}).")
        if not 0 <= self.dropout < 1 or not 0 <= self.temporal_dropout < 1 or not 0 < self.supervision_ratio <= 1:
            raise ConfigError("dropout and temporal_dropout must be in [0, 1) and supervision_ratio in (0, 1].")
        if not 0 <= self.holdout_share < 1:
            raise ConfigError(f"holdout_share must be in [0, 1), not {self.holdout_share!r}.")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, not {self.device!r}.")
        unknown = [name for name in self.ignore if name not in ATTRIBUTES]
        if unknown:
            raise ConfigError(f"ignore: no attribute named {unknown[0]!r}; choose from {', '.join(ATTRIBUTES)}.")
        unknown = [name for name in self.behaviour if name not in BEHAVIOUR]
        if unknown:
            raise ConfigError(f"behaviour: no group named {unknown[0]!r}; choose from {', '.join(BEHAVIOUR)}.")
        Horizon.parse(self.horizon)
        if self.cutoff is not None:
            if self.protocol != "asof":
                raise ConfigError("cutoff is the as-of protocol's: it does not combine with protocol latest.")
            parse_date(self.cutoff)
        if self.protocol == "asof" and self.until is not None:
            raise ConfigError(
                "until does not combine with the as-of protocol: the cutoff and the horizon end its data "
                "(since still leaves out older transactions)."
            )

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: object) -> TrainConfig:
        """The defaults, then the file at ``path`` (TOML or JSON), then the non-None ``overrides``."""
        values: dict = {}
        if path:
            try:
                text = Path(path).read_bytes()
                values = tomllib.loads(text.decode()) if str(path).endswith(".toml") else json.loads(text)
            except OSError as e:
                raise ConfigError(f"{path}: cannot read the config file ({e.strerror}).") from None
            except (ValueError, UnicodeDecodeError) as e:
                raise ConfigError(f"{path}: not a valid config file ({e}).") from None
            except RecursionError:
                raise ConfigError(f"{path}: not a valid config file (nested too deeply).") from None
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: a config file holds a table of settings.")
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"{path or 'settings'}: unknown settings: {', '.join(sorted(unknown))}.")
        asof = values.get("protocol", "asof" if values.get("cutoff") is not None else "latest") == "asof"
        if asof and "holdout_share" in values:
            raise ConfigError(
                "holdout_share is the latest protocol's: under the as-of protocol the cutoff and the horizon "
                "decide what is held out."
            )
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)

    def temporal_windows(self, available: int) -> int:
        """How many earlier questions a training learns, of the ``available`` ones: ``windows`` of
        them for the GAT's ``temporal`` task (as many as there are, at most), else the latest
        alone (the item channel's)."""
        return 1 if self.gat_task == "mask" else max(1, min(self.windows, available))

    def filters(self) -> dict:
        """The data selection, as the exporter's keyword arguments (with the as-of protocol's cutoff and horizon)."""
        out = {
            "since": self.since,
            "until": self.until,
            "customer_type": self.customer_type,
            "location": self.location,
        }
        if self.protocol == "asof":
            out |= {"cutoff": self.cutoff, "horizon": self.horizon}
        return out
