"""The local Neo4j server that wbgraph manages itself (``wbgraph db start|stop``).

For users with neither a Neo4j server nor Docker: Neo4j Community 5.26 LTS is assembled once
from Neo4j's own artifacts on Maven Central (:mod:`.distribution`) and run from an instance
folder of its own (:mod:`.server`), listening on 127.0.0.1 only, with authentication on and a
generated password kept in a file only the user can read.
"""

from .distribution import NEO4J_VERSION, Distribution, ensure_distribution
from .server import LocalServer, ServerConfig, StartResult, StopResult, last_line, start, stop

__all__ = [
    "NEO4J_VERSION",
    "Distribution",
    "LocalServer",
    "ServerConfig",
    "StartResult",
    "StopResult",
    "ensure_distribution",
    "last_line",
    "start",
    "stop",
]
