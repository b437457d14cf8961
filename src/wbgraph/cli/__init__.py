"""The ``wbgraph`` command line: thin click commands over the library, one per function."""

import logging

import click

from .._version import __version__
from .common import Group, Obj
from .db import db
from .demo import demo
from .evaluate import evaluate
from .forget import forget
from .generate import generate
from .ingest import ingest
from .mapping import mapping
from .outcomes import outcomes
from .query import query
from .recommend import recommend
from .recommendations import recommendations
from .report import report
from .run import run
from .runs import runs
from .simulate import simulate
from .train import train
from .visualize import visualize
from .writeback import writeback


@click.group(cls=Group)
@click.version_option(__version__, prog_name="wbgraph")
@click.option(
    "--uri", help="Neo4j URI (bolt://, neo4j://, neo4j+s://). Default: NEO4J_URI, .env, else the local server."
)
@click.option("--user", help="Neo4j user. Default: NEO4J_USERNAME, .env, else neo4j.")
@click.option("--database", help="Database name. Default: NEO4J_DATABASE, .env, else neo4j.")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False),
    help="A file holding the password (with --uri or NEO4J_URI). Default: NEO4J_PASSWORD, NEO4J_PASSWORD_FILE.",
)
@click.option(
    "--trusted-ca",
    type=click.Path(dir_okay=False),
    help="PEM file of the certificate authorities to trust for neo4j+s:// and bolt+s://. Default: NEO4J_TRUSTED_CA.",
)
@click.option("--impersonate", metavar="USER", help="Run every query as this user (servers that allow it).")
@click.pass_context
def cli(
    ctx: click.Context,
    uri: str | None,
    user: str | None,
    database: str | None,
    password_file: str | None,
    trusted_ca: str | None,
    impersonate: str | None,
) -> None:
    """wbgraph: a Neo4j-backed product recommender for wholesale banking.

    The password comes from --password-file, NEO4J_PASSWORD or NEO4J_PASSWORD_FILE
    (environment or .env), a hidden prompt on a terminal, or, for the local server that
    `wbgraph db start` manages, from its password file: never from an option.

    \b
    Example:
        wbgraph db start
        wbgraph query "MATCH (n) RETURN count(n) AS nodes"
    """
    ctx.obj = Obj(uri, user, database, password_file, trusted_ca, impersonate)


cli.add_command(demo)
cli.add_command(run)
cli.add_command(db)
cli.add_command(generate)
cli.add_command(ingest)
cli.add_command(mapping)
cli.add_command(train)
cli.add_command(evaluate)
cli.add_command(writeback)
cli.add_command(recommend)
cli.add_command(recommendations)
cli.add_command(query)
cli.add_command(report)
cli.add_command(runs)
cli.add_command(visualize)
cli.add_command(forget)
cli.add_command(outcomes)
cli.add_command(simulate)


def main() -> None:
    """Console-script entry point."""
    # The driver logs every failed connection attempt; with no handler, Python would print
    # those records on stderr. Users get wbgraph's own one-line error instead.
    logging.getLogger("neo4j").addHandler(logging.NullHandler())
    logging.getLogger("neo4j").propagate = False
    cli(prog_name="wbgraph")
