"""Configuration: the example loads; every mistake names the file and the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_has_no_backend_and_the_aws_example_keys():
    cfg = load_config(ROOT / "config" / "example.yaml")
    assert cfg.backend is None
    assert [(c.access_key, c.secret_key) for c in cfg.auth.static] == [
        ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")]
    assert cfg.listen.host == "127.0.0.1"


def test_secret_key_is_not_in_repr():
    cfg = load_config(ROOT / "config" / "example.yaml")
    assert "EXAMPLEKEY" not in repr(cfg)


@pytest.mark.parametrize(("data", "message"), [
    ({"listen": {"port": "http"}}, "f.yaml: listen.port: expected an integer"),
    ({"listen": {"port": 70000}}, "f.yaml: listen.port: 70000 is not a TCP port"),
    ({"listen": {"prot": 1}}, "f.yaml: listen.prot: unknown key"),
    ({"regoin": "x"}, "f.yaml: regoin: unknown key"),
    ({"auth": {"static": [{"access_key": "a"}]}}, "f.yaml: auth.static[0].secret_key: required key is missing"),
    ({"auth": {"static": [{"access_key": "a", "secret_key": "b", "account_id": 123}]}},
     "f.yaml: auth.static[0].account_id: expected a string"),
    ({"auth": {"static": "AKID"}}, "f.yaml: auth.static: expected a list"),
    ({"region": "us east"}, "f.yaml: region: 'us east' is not a region name"),
    ({"logging": {"level": "loud"}}, "f.yaml: logging.level: must be one of"),
    ({"limits": {"max_form_bytes": 0}}, "f.yaml: limits.max_form_bytes: must be positive"),
    ({"backend": {"options": {}}}, "f.yaml: backend.type: required key is missing"),
    ({"server": {"event_loop": "trio"}}, "f.yaml: server.event_loop: must be auto, uvloop or asyncio"),
    (["not", "a", "mapping"], "f.yaml: <top>: expected a mapping"),
])
def test_invalid_config_names_file_and_key(data, message):
    with pytest.raises(ConfigError) as exc:
        parse_config(data, "f.yaml")
    assert str(exc.value).startswith(message)


def test_duplicate_access_keys_are_rejected():
    cred = {"access_key": "a", "secret_key": "b"}
    with pytest.raises(ConfigError, match=r"auth.static\[1\].access_key: duplicate"):
        parse_config({"auth": {"static": [cred, cred]}}, "f.yaml")


def test_bad_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("listen: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match=r"nope.yaml: cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_cli_refuses_to_start_with_an_invalid_config(tmp_path):
    bad = tmp_path / "gw.yaml"
    bad.write_text("listen:\n  port: 99999\n")
    proc = subprocess.run([sys.executable, "-m", "gateway.cli", "serve", "--config", str(bad)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2
    assert f"{bad}: listen.port: 99999 is not a TCP port" in proc.stderr


def test_state_store_url_must_be_supported():
    with pytest.raises(ConfigError, match=r"f.yaml: state.url: must start with one of sqlite://, postgresql://"):
        parse_config({"state": {"url": "redis://h/0"}}, "f.yaml")
    for url in ("postgresql://u:p@h:5432/db", "mysql://u:p@h/db", "mariadb://u@h/db?unix_socket=/s"):
        assert parse_config({"state": {"url": url}}).state.url == url


def test_state_pool_and_deadlines():
    cfg = parse_config({"state": {"url": "postgresql://h/db", "pool_size": 4, "timeout_seconds": 2.5}})
    assert cfg.state.store_options() == {"pool_size": 4, "connect_timeout": 5.0, "timeout": 2.5}
    for bad, message in (({"pool_size": 0}, "state.pool_size: must be from 1"),
                         ({"timeout_seconds": 0}, "state.timeout_seconds: must be a number"),
                         ({"connect_timeout_seconds": True}, "state.connect_timeout_seconds: must be a number")):
        with pytest.raises(ConfigError, match=message):
            parse_config({"state": bad})
