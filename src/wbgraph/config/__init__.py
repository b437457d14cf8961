"""Settings: where to connect (:mod:`.connection`, with :mod:`.dotenv`), a team's project file
(:mod:`.project`) and how to train (:mod:`.training`). The names below are the ones the rest of
wbgraph imports from ``wbgraph.config``.
"""

from .connection import (
    DEFAULT_DATABASE,
    DEFAULT_USER,
    ENV_NAMES,
    SUPPORTED_SCHEMES,
    Settings,
    resolve_settings,
    uses_local_server,
)
from .dotenv import dotenv_path, read_env_file
from .project import (
    DEFAULT_RUNS_DIR,
    PROJECT_FILE,
    PROJECT_KEYS,
    RUNS_ENV,
    project_config,
    rules_file,
    runs_location,
    train_config_file,
)
from .training import ATTRIBUTES, BEHAVIOUR, SIZE_UNITS, GatTask, Loss, Protocol, TrainConfig, parse_size

__all__ = [
    "ATTRIBUTES",
    "BEHAVIOUR",
    "DEFAULT_DATABASE",
    "DEFAULT_RUNS_DIR",
    "DEFAULT_USER",
    "ENV_NAMES",
    "GatTask",
    "Loss",
    "PROJECT_FILE",
    "PROJECT_KEYS",
    "Protocol",
    "RUNS_ENV",
    "SIZE_UNITS",
    "SUPPORTED_SCHEMES",
    "Settings",
    "TrainConfig",
    "dotenv_path",
    "parse_size",
    "project_config",
    "read_env_file",
    "resolve_settings",
    "rules_file",
    "runs_location",
    "train_config_file",
    "uses_local_server",
]
