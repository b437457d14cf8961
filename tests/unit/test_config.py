"""Connection settings follow Neo4j's conventions: options, then environment, then .env, then the local server."""

from pathlib import Path

import pytest

from wbgraph.config import read_env_file, resolve_settings
from wbgraph.errors import ConfigError


def test_environment_names_the_server(tmp_path):
    env = {
        "NEO4J_URI": "neo4j+s://abc.databases.neo4j.io",
        "NEO4J_USERNAME": "ana",
        "NEO4J_PASSWORD": "pw",
        "NEO4J_DATABASE": "bank",
    }
    s = resolve_settings(environ=env, env_file=tmp_path / "none")
    assert (s.uri, s.user, s.password, s.database, s.local) == (
        "neo4j+s://abc.databases.neo4j.io",
        "ana",
        "pw",
        "bank",
        False,
    )


def test_options_override_environment(tmp_path):
    env = {"NEO4J_URI": "bolt://a:7687", "NEO4J_PASSWORD": "pw", "NEO4J_DATABASE": "bank"}
    s = resolve_settings(uri="neo4j://b:7687", user="bob", database="other", environ=env, env_file=tmp_path / "none")
    assert (s.uri, s.user, s.database) == ("neo4j://b:7687", "bob", "other")


def test_dotenv_file_is_read_and_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\nexport NEO4J_URI=\"bolt://dotenv:7687\"\nNEO4J_PASSWORD='from file'\nNEO4J_DATABASE=filedb\n"
    )
    assert read_env_file(dotenv)["NEO4J_PASSWORD"] == "from file"
    s = resolve_settings(environ={"NEO4J_DATABASE": "envdb"}, env_file=dotenv)
    assert (s.uri, s.password, s.database) == ("bolt://dotenv:7687", "from file", "envdb")


def test_uri_without_password_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no password is set: NEO4J_PASSWORD or NEO4J_PASSWORD_FILE"):
        resolve_settings(environ={"NEO4J_URI": "bolt://x:7687"}, env_file=tmp_path / "none")


def test_unsupported_scheme_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="Unsupported Neo4j URI 'http://x:7474'"):
        resolve_settings(environ={"NEO4J_URI": "http://x:7474", "NEO4J_PASSWORD": "pw"}, env_file=tmp_path / "none")


def test_without_settings_the_local_server_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("WBGRAPH_HOME", str(tmp_path))
    (tmp_path / "password").write_text("generated-secret\n")
    (tmp_path / "server.json").write_text(
        '{"bolt_port": 17687, "http_port": 17474, "heap": "512m", "pagecache": "512m"}'
    )
    s = resolve_settings(environ={}, env_file=tmp_path / "none")
    assert (s.uri, s.user, s.password, s.local) == ("bolt://127.0.0.1:17687", "neo4j", "generated-secret", True)
    assert "generated-secret" not in repr(s)


def test_local_server_not_set_up_yet_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("WBGRAPH_HOME", str(tmp_path / "nothing"))
    with pytest.raises(ConfigError, match="run `wbgraph db start`"):
        resolve_settings(environ={}, env_file=tmp_path / "none")


def test_credentials_for_another_server_do_not_apply_to_the_local_one(tmp_path, monkeypatch):
    monkeypatch.setenv("WBGRAPH_HOME", str(tmp_path))
    (tmp_path / "password").write_text("generated-secret\n")
    s = resolve_settings(environ={"NEO4J_USERNAME": "ana", "NEO4J_PASSWORD": "aura-secret"}, env_file=tmp_path / "none")
    assert (s.user, s.password, s.local) == ("neo4j", "generated-secret", True)


def test_wbgraph_dotenv_names_another_file_or_turns_dotenv_off(tmp_path, monkeypatch):
    monkeypatch.delenv("WBGRAPH_DOTENV", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WBGRAPH_HOME", str(tmp_path))
    (tmp_path / "password").write_text("generated-secret\n")
    (tmp_path / ".env").write_text("NEO4J_URI=bolt://production:7687\nNEO4J_PASSWORD=prod\n")
    assert resolve_settings(environ={}).uri == "bolt://production:7687"
    monkeypatch.setenv("WBGRAPH_DOTENV", "")
    assert resolve_settings(environ={}).local
    other = tmp_path / "staging.env"
    other.write_text("NEO4J_URI=bolt://staging:7687\nNEO4J_PASSWORD=s\n")
    monkeypatch.setenv("WBGRAPH_DOTENV", str(other))
    assert resolve_settings(environ={}).uri == "bolt://staging:7687"


def test_the_test_fixtures_take_a_server_only_from_the_explicit_opt_in():
    from helpers import external_settings

    production = {"NEO4J_URI": "bolt://production:7687", "NEO4J_PASSWORD": "prod"}
    assert external_settings(production) is None  # NEO4J_* never names the tests' server
    chosen = external_settings(production | {"WBGRAPH_TEST_URI": "bolt://scratch:7687", "WBGRAPH_TEST_PASSWORD": "t"})
    assert (chosen.uri, chosen.user, chosen.password) == ("bolt://scratch:7687", "neo4j", "t")


def test_the_password_comes_from_the_option_file_then_the_environment_then_the_prompt(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("from-file\n")
    uri = {"NEO4J_URI": "bolt://x:7687"}
    asked = []
    prompt = lambda text: asked.append(text) or "typed"
    none = tmp_path / "none"
    assert resolve_settings(environ=uri | {"NEO4J_PASSWORD": "env"}, env_file=none, password_file=secret).password == (
        "from-file"
    )
    assert resolve_settings(environ=uri | {"NEO4J_PASSWORD": "env"}, env_file=none, prompt=prompt).password == "env"
    assert resolve_settings(environ=uri | {"NEO4J_PASSWORD_FILE": str(secret)}, env_file=none).password == "from-file"
    assert asked == []
    assert resolve_settings(environ=uri, env_file=none, prompt=prompt).password == "typed"
    assert asked == ["Password for neo4j at bolt://x:7687: "]
    with pytest.raises(ConfigError, match="Both NEO4J_PASSWORD and NEO4J_PASSWORD_FILE are set"):
        resolve_settings(environ=uri | {"NEO4J_PASSWORD": "a", "NEO4J_PASSWORD_FILE": str(secret)}, env_file=none)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="password file .* is empty"):
        resolve_settings(environ=uri, env_file=none, password_file=tmp_path / "empty")


def test_a_trusted_ca_applies_to_the_tls_schemes_only_and_must_exist(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {"NEO4J_PASSWORD": "pw", "NEO4J_TRUSTED_CA": str(ca)}
    s = resolve_settings(uri="neo4j+s://graph.bank.internal", environ=env, env_file=tmp_path / "none")
    assert s.trusted_ca == str(ca) and s.scheme == "neo4j+s"
    with pytest.raises(ConfigError, match="applies to the \\+s schemes"):
        resolve_settings(uri="bolt+ssc://graph.bank.internal", environ=env, env_file=tmp_path / "none")
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_settings(uri="neo4j+s://g", environ=env | {"NEO4J_TRUSTED_CA": str(ca) + "x"}, env_file=tmp_path / "n")


@pytest.mark.parametrize(
    "gib, heap, pagecache",
    [(2, "1g", "512m"), (4, "1g", "1g"), (24, "3g", "6g"), (64, "8g", "16g"), (512, "8g", "32g"), (0, "1g", "512m")],
)
def test_the_local_server_is_sized_from_the_machine_within_bounds(gib, heap, pagecache):
    from wbgraph.localserver import ServerConfig

    sized = ServerConfig.for_machine(gib * 1024**3)
    assert (sized.heap, sized.pagecache) == (heap, pagecache)
    assert (sized.bolt_port, sized.http_port) == (ServerConfig().bolt_port, ServerConfig().http_port)


def test_a_first_start_takes_the_machine_sizing_and_a_remembered_one_stays(tmp_path):
    from wbgraph.localserver import LocalServer, ServerConfig

    server = LocalServer(home=tmp_path)
    assert server.config() == ServerConfig.for_machine()
    (tmp_path / "server.json").write_text('{"bolt_port": 7687, "http_port": 7474, "heap": "1g", "pagecache": "512m"}')
    assert (server.config().heap, server.config().pagecache) == ("1g", "512m")


def test_the_project_file_names_the_teams_training_config_and_rules_under_the_commands_options(tmp_path, monkeypatch):
    from wbgraph.config import rules_file, train_config_file

    monkeypatch.chdir(tmp_path)
    assert train_config_file() is None and rules_file() == "default"  # no project file: wbgraph's defaults
    (tmp_path / "wbgraph.toml").write_text('[train]\nconfig = "team/train.toml"\n[rules]\nfile = "team/rules.toml"\n')
    assert train_config_file() == tmp_path / "team" / "train.toml"  # relative to the project file
    assert rules_file() == tmp_path / "team" / "rules.toml"
    assert train_config_file("mine.toml") == Path("mine.toml")  # the command's option first
    assert rules_file("mine.toml") == "mine.toml" and rules_file("mine.toml", none=True) is None
    assert rules_file(none=True) is None  # --no-rules: none, whatever the project says


def test_train_uses_the_project_files_training_config_before_it_connects(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wbgraph.toml").write_text('[train]\nconfig = "train.toml"\n')
    (tmp_path / "train.toml").write_text("hiden = 64\n")  # a typo the team's file carries
    result = cli("train")
    assert result.exit_code == 1 and "train.toml: unknown settings: hiden" in result.output, result.output
    (tmp_path / "other.toml").write_text("hidden = 64\nepochs = 0\n")
    result = cli("train", "--config", "other.toml")  # --config wins: the project's file is not read
    assert result.exit_code == 1 and "hiden" not in result.output and "epochs" in result.output, result.output
