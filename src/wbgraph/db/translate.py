"""The driver's exceptions turned into one-line wbgraph errors that name the server and the fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from ..config import Settings
from ..errors import AuthenticationFailed, ConfigError, ConnectionFailed, DatabaseNotFound, QueryFailed


@contextmanager
def translate_errors(settings: Settings) -> Iterator[None]:
    """Turn the driver's exceptions into one-line wbgraph errors naming the server and the fix."""
    try:
        yield
    except AuthError:
        raise AuthenticationFailed(
            f"Neo4j at {settings.uri} refused user {settings.user!r}: wrong user name or password"
            + (
                f" (the local server's password is in {_password_file()})."
                if settings.local
                else " (check NEO4J_USERNAME and the password: NEO4J_PASSWORD, NEO4J_PASSWORD_FILE or --password-file)."
            )
        ) from None
    except (ServiceUnavailable, SessionExpired) as e:
        hint = "start it with `wbgraph db start`" if settings.local else "check NEO4J_URI and that the server is up"
        if _untrusted_certificate(e):
            hint = (
                "its TLS certificate is not signed by a certificate authority this machine trusts"
                + (f" (only {settings.trusted_ca} is trusted)" if settings.trusted_ca else "")
                + ": name the CA that signed it with --trusted-ca or NEO4J_TRUSTED_CA"
            )
        raise ConnectionFailed(f"Cannot reach Neo4j at {settings.uri}: {one_line(str(e))}; {hint}.") from None
    except Neo4jError as e:
        if e.code == "Neo.ClientError.Database.DatabaseNotFound":
            raise DatabaseNotFound(f"Database {settings.database!r} does not exist on {settings.uri}.") from None
        raise QueryFailed(f"{one_line(e.message or str(e))} ({e.code})") from None
    except DriverError as e:
        raise ConfigError(f"Cannot use Neo4j at {settings.uri}: {one_line(str(e))}") from None


def _untrusted_certificate(error: BaseException) -> bool:
    """Whether a connection failed because the server's certificate could not be verified."""
    import ssl

    seen = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _password_file() -> str:
    from ..localserver import LocalServer

    return str(LocalServer().password_file)


def one_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines)[:500] or "no details"
