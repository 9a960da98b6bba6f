"""CloudStack backend construction (options named in every refusal, the example configs build) and the key
validator (a warm key costs no admin lookup; unknown keys and bad signatures are refused)."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from backends import base
from backends.cloudstack.backend import CloudStackBackend, SimulatedCloudStackBackend
from backends.cloudstack.client import Transport
from backends.cloudstack.keys import CloudStackValidator
from gateway.backend_factory import build_backend
from gateway.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]
GOOD = {"endpoint": "https://cloud.example.com/client/api", "api_key": "ak", "secret_key": "sk"}


@pytest.mark.parametrize(("options", "named"), [
    ({"api_key": "ak", "secret_key": "sk"}, "endpoint"),
    ({**GOOD, "endpoint": "ftp://x"}, "endpoint"),
    ({**GOOD, "secret_key": ""}, "secret_key"),
    ({**GOOD, "job_deadline": 0}, "job_deadline"),
    ({**GOOD, "timeout": True}, "timeout"),
    ({**GOOD, "instance_types": {"t2.micro": 3}}, "instance_types"),
    ({**GOOD, "expunge": "yes"}, "expunge"),
    ({**GOOD, "page_size": 501}, "page_size"),
    ({**GOOD, "bogus": 1}, "bogus"),
])
def test_bad_options_are_refused_by_name(options: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        CloudStackBackend.from_options(options)


def test_sim_backend_refuses_cloud_options() -> None:
    with pytest.raises(ValueError, match="endpoint"):
        SimulatedCloudStackBackend.from_options({"endpoint": "http://x"})
    with pytest.raises(ValueError, match="job_delay"):
        SimulatedCloudStackBackend.from_options({"job_delay": -1})


def test_example_configs_build_their_backends() -> None:
    assert type(build_backend(load_config(ROOT / "config/cloudstack.example.yaml"))) is CloudStackBackend
    sim = build_backend(load_config(ROOT / "config/cloudstack-sim.example.yaml"))
    assert type(sim) is SimulatedCloudStackBackend and sim.instance_types["t2.micro"] == "Tiny"
    with pytest.raises(ConfigError, match="backend.options: option job_deadline"):
        build_backend(parse_config({"backend": {"type": "cloudstack", "options": {**GOOD, "job_deadline": -1}}}))


async def test_validator_caches_secrets_and_checks_signatures() -> None:
    backend = SimulatedCloudStackBackend.from_options({"job_delay": 0})
    await backend.start()
    try:
        validator = backend.validator
        assert isinstance(validator, CloudStackValidator)
        ak, sk = backend.simulator.keys("a")
        sts = "AWS4-HMAC-SHA256\n20260101T000000Z\n20260101/us-east-1/ec2/aws4_request\nabc"
        key = ("AWS4" + sk).encode()
        for part in ("20260101", "us-east-1", "ec2", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        good = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        check = base.SignatureCheck(version="v4", access_key=ak, signature=good, string_to_sign=sts,
                                    scope=("20260101", "us-east-1", "ec2"))
        principal = await validator.validate(check)
        assert principal.display_name == "a" and principal.attributes["api_key"] == ak
        assert "secret" not in repr(principal) and sk not in repr(principal)
        lookups = validator.lookups
        for _ in range(5):  # warm: no admin calls
            await validator.validate(check)
        assert validator.lookups == lookups
        with pytest.raises(base.BadSignature):
            await validator.validate(base.SignatureCheck(version="v4", access_key=ak, signature="0" * 64,
                                                         string_to_sign=sts, scope=("20260101", "us-east-1", "ec2")))
        with pytest.raises(base.UnknownKey):
            await validator.validate(base.SignatureCheck(version="v4", access_key="nope", signature=good,
                                                         string_to_sign=sts, scope=("20260101", "us-east-1", "ec2")))
        assert await validator.secret(ak) == (sk, principal)
    finally:
        await backend.close()


async def test_validator_without_admin_rights_is_unavailable() -> None:
    backend = SimulatedCloudStackBackend.from_options({"job_delay": 0})
    await backend.start()
    try:
        ak, sk = backend.simulator.keys("b")  # a user, not an admin: getUser is refused
        validator = CloudStackValidator(backend.client(ak, sk))
        with pytest.raises(base.Unavailable):
            await validator.validate(base.SignatureCheck(version="v2", access_key=backend.simulator.keys("a")[0],
                                                         signature="x", string_to_sign="y"))
    finally:
        await backend.close()
    assert isinstance(backend.transport, Transport)
