"""Every Cypher statement wbgraph runs, one purpose per ``.cypher`` file, loaded by name.

The files sit in one folder per stage, like the code that runs them: ``db/``, ``loaders/``,
``gnn/``, ``writeback/``, ``serve/``, and ``queries/`` for the analysts' library. A name is
``"<stage>/<file>"``, e.g. ``cypher.load("loaders/upsert_customers")``. Analysts can open the
files in Neo4j Browser and run them with the same ``$parameters``.
"""

from functools import cache
from importlib import resources

STAGES = ("db", "loaders", "gnn", "writeback", "serve", "queries", "outcomes")


@cache
def load(name: str) -> str:
    """The text of ``cypher/<name>.cypher``."""
    stage, _, _ = name.partition("/")
    if stage not in STAGES or name.count("/") != 1:
        raise KeyError(f"no Cypher file named {name!r} (names are <stage>/<file>, stages {', '.join(STAGES)})")
    try:
        return resources.files(__package__).joinpath(f"{name}.cypher").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyError(f"no Cypher file named {name!r}") from None


@cache
def statements(name: str) -> tuple[str, ...]:
    """The statements of a file (a file may hold several, separated by semicolons at line ends)."""
    body = "\n".join(line for line in load(name).splitlines() if not line.lstrip().startswith("//"))
    parts = (part.strip().rstrip(";").strip() for part in (body + "\n").split(";\n"))
    return tuple(part for part in parts if part)


def analyst_queries() -> dict[str, str]:
    """The queries for Neo4j Browser users in ``cypher/queries/``, by name (without the folder)."""
    folder = resources.files(__package__).joinpath("queries")
    return {
        p.name.removesuffix(".cypher"): p.read_text(encoding="utf-8")
        for p in folder.iterdir()
        if p.name.endswith(".cypher")
    }


def browser_style() -> str:
    """The Neo4j Browser style (``browser.grass``): customers captioned by ID and segment,
    products by ID and type, segments by name, RECOMMENDED by rank. Apply it in Browser with
    ``:style`` followed by this text, or by dropping the file onto the ``:style`` frame."""
    return resources.files(__package__).joinpath("browser.grass").read_text(encoding="utf-8")


def names() -> list[str]:
    """The names of all the Cypher files shipped with wbgraph, as :func:`load` takes them."""
    root = resources.files(__package__)
    return sorted(
        f"{stage}/{p.name.removesuffix('.cypher')}"
        for stage in STAGES
        for p in root.joinpath(stage).iterdir()
        if p.name.endswith(".cypher")
    )
