"""Every Cypher statement wbgraph runs, one purpose per ``.cypher`` file, loaded by name.

Analysts can open the files in Neo4j Browser and run them with the same ``$parameters``.
"""

from functools import cache
from importlib import resources


@cache
def load(name: str) -> str:
    """The text of ``cypher/<name>.cypher``."""
    try:
        return resources.files(__package__).joinpath(f"{name}.cypher").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyError(f"no Cypher file named {name!r}") from None


def statements(name: str) -> list[str]:
    """The statements of a file that holds several, separated by semicolons at line ends."""
    body = "\n".join(line for line in load(name).splitlines() if not line.lstrip().startswith("//"))
    parts = (part.strip().rstrip(";").strip() for part in (body + "\n").split(";\n"))
    return [part for part in parts if part]


def analyst_queries() -> dict[str, str]:
    """The queries for Neo4j Browser users in ``cypher/queries/``, by name."""
    folder = resources.files(__package__).joinpath("queries")
    return {p.name.removesuffix(".cypher"): p.read_text(encoding="utf-8") for p in folder.iterdir() if p.name.endswith(".cypher")}


def names() -> list[str]:
    """The names of all the Cypher files shipped with wbgraph."""
    return sorted(p.name.removesuffix(".cypher") for p in resources.files(__package__).iterdir() if p.name.endswith(".cypher"))
