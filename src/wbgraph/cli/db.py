"""``wbgraph db``: the local Neo4j server and the target database."""

import click

from .. import db as database
from .. import localserver
from ..localserver import ServerConfig
from .common import bars, confirm, echo_fields, echo_json, json_option, pass_obj, silent_option

DEFAULTS = ServerConfig()


@click.group()
def db() -> None:
    """Manage the local Neo4j server and the target database.

    \b
    Example:
        wbgraph db start
        wbgraph db status
    """


@db.command()
@click.option("--bolt-port", type=int, help=f"Bolt port (default {DEFAULTS.bolt_port}; remembered).")
@click.option("--http-port", type=int, help=f"HTTP port for Neo4j Browser (default {DEFAULTS.http_port}; remembered).")
@click.option("--heap", help="JVM heap, e.g. 1g or 4g. First start: 1/8 of the machine's memory, 1g-8g; remembered.")
@click.option(
    "--pagecache", help="Page cache, e.g. 512m or 8g. First start: 1/4 of the machine's memory, 512m-32g; remembered."
)
@click.option("--timeout", type=float, default=180.0, show_default=True, help="Seconds to wait for Bolt to answer.")
@silent_option
@json_option
def start(
    bolt_port: int | None,
    http_port: int | None,
    heap: str | None,
    pagecache: str | None,
    timeout: float,
    silent: bool,
    as_json: bool,
) -> None:
    """Start the local Neo4j server (assembled from Maven Central on first use).

    Listens on 127.0.0.1 only, with a generated password kept in a file only you can
    read. Starting a running server is not an error.

    \b
    Example:
        wbgraph db start --heap 1g --pagecache 1g
    """
    result = localserver.start(
        bolt_port=bolt_port,
        http_port=http_port,
        heap=heap,
        pagecache=pagecache,
        timeout=timeout,
        progress=bars(silent or as_json),
    )
    server = localserver.LocalServer()
    if as_json:
        echo_json(result.to_json() | {"home": str(server.home), "passwordFile": str(server.password_file)})
        return
    if result.already_running:
        click.echo(f"Neo4j is already running (pid {result.pid}) at {result.bolt_uri}")
    else:
        click.echo(f"Neo4j started in {result.seconds:.1f}s (pid {result.pid}) at {result.bolt_uri}")
    click.echo(f"Neo4j Browser: {result.browser_url}  (user neo4j, password in {server.password_file})")


@db.command()
@json_option
def stop(as_json: bool) -> None:
    """Stop the local Neo4j server cleanly.

    \b
    Example:
        wbgraph db stop
    """
    result = localserver.stop()
    if as_json:
        echo_json(result)
    elif result.was_running:
        click.echo(f"Neo4j stopped in {result.seconds:.1f}s")
    else:
        click.echo("Neo4j is not running")


@db.command()
@json_option
@pass_obj
def status(obj, as_json: bool) -> None:
    """Show which Neo4j server answers and how much data it holds.

    When the server cannot be reached or refuses the credentials, says why on one
    line and exits 5 or 6 (see the README's exit status table).

    \b
    Example:
        wbgraph db status --json
    """
    with obj.connect() as (driver, settings):
        result = database.status(driver, settings)
    if as_json:
        echo_json(result)
        return
    echo_fields(
        {
            "URI": result.uri,
            "Database": result.database,
            "Server": f"{result.server} {result.version} {result.edition}",
            "Nodes": f"{result.nodes:,}",
            "Relationships": f"{result.relationships:,}",
            "Writer": database.describe_holder(result.writer) if result.writer else "none",
        }
    )
    if result.interrupted_ingests:
        click.echo(f"Warning: {database.describe_interrupted(result.interrupted_ingests)}")


@db.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--batch-size", type=int, default=10_000, show_default=True, help="Nodes deleted per transaction.")
@json_option
@pass_obj
def reset(obj, yes: bool, batch_size: int, as_json: bool) -> None:
    """Delete every node and relationship in the target database (the schema is kept).

    \b
    Example:
        wbgraph db reset --yes
    """
    with obj.connect() as (driver, settings):
        confirm(f"Delete all data in database {settings.database!r} at {settings.uri}?", yes, as_json)
        deleted = database.reset(driver, settings, batch_size=batch_size)
    if as_json:
        echo_json({"deletedNodes": deleted, "database": settings.database, "uri": settings.uri})
        return
    click.echo(f"Deleted {deleted:,} nodes and their relationships from {settings.database!r}")


@db.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_obj
def unlock(obj, yes: bool, as_json: bool) -> None:
    """Clear the database's writer lock, left by a writer that died (on another machine).

    Ingest, writeback, reset and demo hold the lock while they write; a second writer is
    refused (exit 13). A lock whose process died on this machine is taken over by the
    next writer by itself; this clears one that cannot be checked from here.

    \b
    Example:
        wbgraph db status
        wbgraph db unlock --yes
    """
    with obj.connect() as (driver, settings):
        holder = database.lock_holder(driver, settings)
        if holder:
            confirm(f"Clear the writer lock of {database.describe_holder(holder)}?", yes, as_json)
        cleared = database.unlock(driver, settings) if holder else None
    if as_json:
        echo_json({"cleared": cleared})
    elif cleared:
        click.echo(f"Cleared the writer lock of {database.describe_holder(cleared)}")
    else:
        click.echo("No writer lock was held")


@db.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--database", "database", default="neo4j", show_default=True, help="The database to dump.")
@silent_option
@json_option
def dump(file: str, database: str, silent: bool, as_json: bool) -> None:
    """Back up the local server's database to FILE with `neo4j-admin database dump`.

    Neo4j Community dumps only an offline database: a running server is stopped for the
    copy and started again. Refused while a wbgraph writer holds the database (exit 13).

    \b
    Example:
        wbgraph db dump backups/wbgraph-$(date +%F).dump
    """
    from ..backup import dump as library

    result = library(file, database=database, progress=bars(silent or as_json))
    if as_json:
        echo_json(result)
    else:
        click.echo(f"Dumped {result.database} to {result.file} ({result.bytes:,} bytes) in {result.seconds:.1f}s")


@db.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--database", "database", default="neo4j", show_default=True, help="The database to replace.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@silent_option
@json_option
def load(file: str, database: str, yes: bool, silent: bool, as_json: bool) -> None:
    """Replace the local server's database with a dump made by `wbgraph db dump`.

    Everything in the database is replaced by the dump's content. A running server is
    stopped for the load and started again.

    \b
    Example:
        wbgraph db load backups/wbgraph-2026-11-26.dump --yes
    """
    from ..backup import load as library

    confirm(f"Replace everything in database {database!r} of the local server with {file}?", yes, as_json)
    result = library(file, database=database, progress=bars(silent or as_json))
    if as_json:
        echo_json(result)
    else:
        click.echo(f"Loaded {result.file} into {result.database} in {result.seconds:.1f}s")


@db.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def admin(args: tuple[str, ...]) -> None:
    """Run Neo4j's admin tool (neo4j-admin) on the local server's files.

    \b
    Example:
        wbgraph db admin server validate-config
    """
    done = localserver.LocalServer().admin(*args)
    raise SystemExit(done.returncode)
