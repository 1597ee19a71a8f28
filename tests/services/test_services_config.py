"""console.config.load_settings: file, profiles, environment, overrides, and
CONFIG_INVALID for everything that is wrong (never a raw exception)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from console import db
from console.config import Settings, load_settings
from console.services.errors import ConfigError

CONFIG = """
database_url = "sqlite:///from-file.db"
policy = "milvus"
password_expiry_days = 90
read_only = true

[profiles.prod]
database_url = "postgresql://db.example.com/userdesk"
policy = "nist"
policy_overrides = { history = 10 }
ticket_lifetime_minutes = 15

[profiles.dev]
trusted_operator = true
read_only = false
"""


@pytest.fixture
def cfg(tmp_path):
    def _write(body: str = CONFIG, name: str = "config.toml"):
        p = tmp_path / name
        p.write_text(body, encoding="utf-8")
        return p

    return _write


def load(path, env=None, **kw) -> Settings:
    return load_settings(config_path=path, env=env or {}, **kw)


def config_error(match: str | None = None, **kw) -> ConfigError:
    with pytest.raises(ConfigError) as ei:
        load_settings(**kw)
    err = ei.value
    assert err.code == "CONFIG_INVALID"
    assert err.as_dict()["error_code"] == "CONFIG_INVALID"
    if match:
        assert match in err.message, err.message
    return err


# -- where settings come from ---------------------------------------------------------------


def test_top_level_keys(cfg):
    s = load(cfg())
    assert (s.database_url, s.policy, s.password_expiry_days, s.read_only) == (
        "sqlite:///from-file.db", "milvus", 90, True)
    assert s.trusted_operator is False and s.ticket_lifetime_minutes == 60  # defaults kept
    assert s.password_policy().name == "milvus"


def test_profile_by_argument(cfg):
    s = load(cfg(), profile="prod")
    assert s.database_url == "postgresql://db.example.com/userdesk"
    assert s.policy == "nist" and s.password_policy().history == 10
    assert s.ticket_lifetime_minutes == 15
    assert s.password_expiry_days == 90 and s.read_only is True  # top level still applies


def test_profile_by_environment(cfg):
    s = load(cfg(), env={"USERDESK_PROFILE": "dev"})
    assert s.trusted_operator is True and s.read_only is False
    assert s.database_url == "sqlite:///from-file.db"


def test_profile_argument_beats_environment(cfg):
    s = load(cfg(), env={"USERDESK_PROFILE": "dev"}, profile="prod")
    assert s.ticket_lifetime_minutes == 15 and s.trusted_operator is False


def test_database_url_from_environment_beats_file_and_profile(cfg):
    env = {"USERDESK_DATABASE_URL": "sqlite:///from-env.db"}
    assert load(cfg(), env=env).database_url == "sqlite:///from-env.db"
    assert load(cfg(), env=env, profile="prod").database_url == "sqlite:///from-env.db"


def test_environment_values_are_parsed(cfg):
    env = {
        "USERDESK_READ_ONLY": "false",
        "USERDESK_TRUSTED_OPERATOR": "1",
        "USERDESK_PASSWORD_EXPIRY_DAYS": "0",
        "USERDESK_POLICY": "auth0-good",
        "USERDESK_POLICY_OVERRIDES": "min_length = 12, history = 3",
    }
    s = load(cfg(), env=env)
    assert s.read_only is False and s.trusted_operator is True and s.password_expiry_days == 0
    p = s.password_policy()
    assert (p.name, p.min_length, p.history) == ("auth0-good", 12, 3)


def test_explicit_overrides_win_and_none_is_ignored(cfg):
    s = load(cfg(), env={"USERDESK_DATABASE_URL": "sqlite:///env.db"},
             overrides={"database_url": "sqlite:///cli.db", "read_only": None})
    assert s.database_url == "sqlite:///cli.db" and s.read_only is True


def test_config_path_from_environment(cfg):
    p = cfg(name="other.toml")
    s = load_settings(env={"USERDESK_CONFIG": str(p)})
    assert s.database_url == "sqlite:///from-file.db"


def test_empty_file_gives_defaults(cfg):
    s = load(cfg(""))
    assert s.policy == "nist" and not s.read_only
    assert s.password_expiry_days is None and s.default_expiry_days() == 0  # nist's own: never
    assert s.argon2_params().memory_cost == 65536


def test_settings_are_frozen(cfg):
    s = load(cfg())
    with pytest.raises(ValidationError):
        s.read_only = False  # type: ignore[misc]
    assert s.model_copy(update={"read_only": False}).read_only is False


# -- CONFIG_INVALID ----------------------------------------------------------------------------


def test_missing_explicit_file(tmp_path):
    config_error("does not exist", config_path=tmp_path / "nope.toml", env={})
    config_error("does not exist", env={"USERDESK_CONFIG": str(tmp_path / "nope.toml")})


def test_bad_toml(cfg):
    err = config_error("not valid TOML", config_path=cfg("database_url = \n[[["), env={})
    assert "config.toml" in err.message


def test_unreadable_file(tmp_path):
    d = tmp_path / "adir.toml"
    d.mkdir()
    config_error("cannot be read", config_path=d, env={})


def test_unknown_top_level_key(cfg):
    err = config_error("invalid settings", config_path=cfg('databse_url = "x"\n'), env={})
    assert "databse_url" in err.message


def test_unknown_key_in_profile(cfg):
    err = config_error(config_path=cfg(CONFIG + '\n[profiles.typo]\nread_onyl = true\n'), env={}, profile="typo")
    assert "read_onyl" in err.message


def test_unknown_profile(cfg):
    err = config_error("'staging'", config_path=cfg(), env={}, profile="staging")
    assert "dev" in err.message and "prod" in err.message  # the known ones are listed
    config_error("'staging'", config_path=cfg(), env={"USERDESK_PROFILE": "staging"})


def test_unknown_profile_without_profiles(cfg):
    err = config_error("staging", config_path=cfg('policy = "nist"\n[profiles.prod]\n'), env={}, profile="staging")
    assert "(profiles: prod, demo (built in))" in err.message  # the built-in one is a profile too


def test_profiles_not_a_table(cfg):
    config_error("table", config_path=cfg('profiles = "prod"\n'), env={})


def test_profile_not_a_table(cfg):
    config_error("table", config_path=cfg('[profiles]\ndev = "x"\n'), env={}, profile="dev")
    config_error("table", config_path=cfg('[profiles]\ndev = 3\n'), env={}, profile="dev")


@pytest.mark.parametrize(
    "env, mentions",
    [
        ({"USERDESK_ARGON2_TIME_COST": "abc"}, "argon2_time_cost"),
        ({"USERDESK_ARGON2_TIME_COST": "0"}, "argon2_time_cost"),
        ({"USERDESK_ARGON2_TIME_COST": "1"}, "argon2_time_cost"),  # OWASP's floor: 2 passes
        ({"USERDESK_ARGON2_MEMORY_COST": "8"}, "argon2_memory_cost"),  # and 19 MiB
        ({"USERDESK_ARGON2_MEMORY_COST": "19455"}, "argon2_memory_cost"),
        ({"USERDESK_READ_ONLY": "maybe"}, "read_only"),
        ({"USERDESK_PASSWORD_EXPIRY_DAYS": "-1"}, "password_expiry_days"),
        ({"USERDESK_TICKET_LIFETIME_MINUTES": "100000"}, "ticket_lifetime_minutes"),
        ({"USERDESK_POLICY": "fort-knox"}, "policy"),
        ({"USERDESK_POLICY_OVERRIDES": "min_length = = 3"}, "POLICY_OVERRIDES"),
        ({"USERDESK_POLICY_OVERRIDES": "min_lenght = 3"}, "policy_overrides"),
        ({"USERDESK_POLICY_OVERRIDES": "min_length = 99, max_length = 10"}, "policy_overrides"),
        ({"USERDESK_TICKET_URL_TEMPLATE": "https://x.example/reset"}, "ticket_url_template"),
        ({"USERDESK_TICKET_URL_TEMPLATE": "https://x.example/{token}/{user}"}, "ticket_url_template"),
    ],
)
def test_bad_environment_value(cfg, env, mentions):
    config_error(mentions, config_path=cfg(""), env=env)


def test_bad_value_in_file(cfg):
    config_error("operator_lockout_failures", config_path=cfg("operator_lockout_failures = 0\n"), env={})
    config_error("policy", config_path=cfg('policy = "nope"\n'), env={})


def test_bad_database_url():
    with pytest.raises(ConfigError) as ei:
        db.make_engine("this is not a url")
    assert ei.value.code == "CONFIG_INVALID" and "database_url" in ei.value.message


def test_the_demo_profile_trusts_operators_only_on_the_demo_database(tmp_path):
    from console.config import demo_database_url, load_settings

    cfg = tmp_path / "c.toml"
    cfg.write_text("")
    demo = load_settings(profile="demo", config_path=cfg, env={})
    assert demo.trusted_operator and demo.database_url == demo_database_url()
    elsewhere = load_settings(profile="demo", config_path=cfg, env={},
                              overrides={"database_url": f"sqlite:///{tmp_path / 'prod.db'}"})
    assert elsewhere.trusted_operator is False
    chosen = load_settings(profile="demo", config_path=cfg, env={"USERDESK_TRUSTED_OPERATOR": "true",
                                                                  "USERDESK_DATABASE_URL": "sqlite:///x.db"})
    assert chosen.trusted_operator is True  # said explicitly


def test_a_reason_is_required_for_resets_except_in_the_demo(tmp_path):
    """On by default; the built-in demo turns it off, on its own database only."""
    from console.config import Settings, load_settings

    cfg = tmp_path / "c.toml"
    cfg.write_text("")
    assert Settings().reason_required is True
    assert load_settings(config_path=cfg, env={}).reason_required is True
    assert load_settings(profile="demo", config_path=cfg, env={}).reason_required is False
    elsewhere = load_settings(profile="demo", config_path=cfg, env={},
                              overrides={"database_url": f"sqlite:///{tmp_path / 'prod.db'}"})
    assert elsewhere.reason_required is True
    off = load_settings(config_path=cfg, env={"USERDESK_REASON_REQUIRED": "false"})
    assert off.reason_required is False


def test_a_server_database_gets_the_configured_pool(settings):
    """PostgreSQL: the pool of each console is the config's (SQLite keeps its own)."""
    from console import db

    if settings.database_url.startswith("sqlite"):
        pytest.skip("a file database has no server connection pool")
    tuned = settings.model_copy(update={"db_pool_size": 2, "db_max_overflow": 1, "db_pool_timeout": 0.2})
    engine = db.make_engine(tuned.database_url, settings=tuned)
    try:
        assert engine.pool.size() == 2
        held = [engine.connect() for _ in range(3)]  # size + overflow: a fourth waits 0.2 s, then fails
        try:
            with pytest.raises(Exception, match="QueuePool limit of size 2 overflow 1"):
                engine.connect()
        finally:
            for c in held:
                c.close()
    finally:
        engine.dispose()


@pytest.mark.parametrize("store, preset", [("redis-acl", "dcs"), ("postgres-roles", "nist"), ("native", "nist")])
def test_a_store_with_rules_of_its_own_gets_its_preset_unless_the_profile_names_one(tmp_path, store, preset):
    """Redis (DCS) and MySQL (GaussDB) have the seeds' own password rules; a
    policy the operator names always wins."""
    env = {"USERDESK_STORE": store, "USERDESK_DATABASE_URL": "redis://admin@127.0.0.1:1/0" if store == "redis-acl"
           else "postgresql+psycopg://admin@127.0.0.1/postgres" if store == "postgres-roles"
           else f"sqlite:///{tmp_path / 'u.db'}"}
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert load_settings(config_path=empty, env=env).policy == preset
    assert load_settings(config_path=empty, env={**env, "USERDESK_POLICY": "django"}).policy == "django"
    assert load_settings(config_path=empty, env=env, overrides={"policy": "milvus"}).policy == "milvus"
