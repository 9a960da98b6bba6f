"""CloudStack backend construction (options named in every refusal, the example configs build) and the key
lookup (a warm key costs no admin lookup; unknown keys are unknown; the gateway's auth verifies signatures
with the secret it reveals, so bad signatures are refused without the backend signing anything AWS)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from botocore.auth import S3SigV4Auth, SigV2Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from backends import base
from backends.cloudstack.backend import CloudStackBackend
from backends.cloudstack.keys import CloudStackKeys
from devcloud.cloudstack_sim import SimConfig, Simulator, running
from gateway.auth import authenticate_ec2, authenticate_s3
from gateway.auth.backend_provider import BackendCredentialProvider
from gateway.backend_factory import build_backend
from gateway.config import ConfigError, load_config, parse_config
from gateway.protocol import errors
from tests.cloudstack_support import sim_options
from tests.test_auth_support import to_auth_request

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


def test_example_configs_build_their_backends() -> None:
    assert type(build_backend(load_config(ROOT / "config/cloudstack.example.yaml"))) is CloudStackBackend
    sim = build_backend(load_config(ROOT / "config/cloudstack-sim.example.yaml"))
    assert type(sim) is CloudStackBackend and sim.shared.instance_types["t2.micro"] == "Tiny"
    with pytest.raises(ConfigError, match="backend.options: option job_deadline"):
        build_backend(parse_config({"backend": {"type": "cloudstack", "options": {**GOOD, "job_deadline": -1}}}))
    with pytest.raises(ConfigError, match="unknown backend 'cloudstack-sim'"):  # the simulator is not shipped
        build_backend(parse_config({"backend": {"type": "cloudstack-sim", "options": {}}}))


def test_make_run_starts_the_simulator_for_a_local_cloudstack_endpoint_only() -> None:
    from devcloud.run import cloudstack_sim_port

    assert cloudstack_sim_port(load_config(ROOT / "config/cloudstack-sim.example.yaml")) == 8788
    assert cloudstack_sim_port(load_config(ROOT / "config/cloudstack.example.yaml")) is None
    assert cloudstack_sim_port(load_config(ROOT / "config/swift.example.yaml")) is None


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with running(SimConfig(job_delay=0)) as s:
        yield s


@pytest_asyncio.fixture
async def backend(sim: Simulator) -> AsyncIterator[CloudStackBackend]:
    be = CloudStackBackend.from_options(sim_options(sim))
    await be.start()
    try:
        yield be
    finally:
        await be.close()


def _signed(access: str, secret: str, version: str = "v4", service: str = "ec2") -> Any:
    if service == "s3":
        req = AWSRequest("GET", "http://gw.test/bucket/key")
        S3SigV4Auth(Credentials(access, secret), "s3", "us-east-1").add_auth(req)
        return to_auth_request(req, bucket="bucket")
    req = AWSRequest("POST", "http://gw.test/", data={"Action": "DescribeInstances", "Version": "2016-11-15"},
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    if version == "v4":
        SigV4Auth(Credentials(access, secret), "ec2", "us-east-1").add_auth(req)
    else:
        SigV2Auth(Credentials(access, secret)).add_auth(req)
    return to_auth_request(req, ec2_form=True)


@pytest.mark.parametrize("version", ["v4", "v2"])
async def test_the_gateway_verifies_with_the_secret_the_backend_reveals(backend: CloudStackBackend, sim: Simulator,
                                                                       version: str) -> None:
    keys = backend.signature_validator()
    assert isinstance(keys, CloudStackKeys) and not isinstance(keys, base.SignatureValidator)
    provider = BackendCredentialProvider(keys)
    ak, sk = sim.keys("a")
    identity = (await authenticate_ec2(_signed(ak, sk, version), provider, region="us-east-1")).identity
    assert identity is not None and identity.display_name == "a" and identity.attributes["api_key"] == ak
    assert sk not in repr(identity)
    lookups = keys.lookups
    for _ in range(5):  # warm: no admin calls
        await authenticate_ec2(_signed(ak, sk, version), provider, region="us-east-1")
    assert keys.lookups == lookups
    for bad in (_signed(ak, "not-" + sk, version), _signed("NOSUCHKEY", sk, version)):
        with pytest.raises(errors.AuthFailure):
            await authenticate_ec2(bad, provider, region="us-east-1")
    found = await keys.secret(ak)
    assert found is not None and found[0] == sk and found[1].attributes["api_key"] == ak
    assert await keys.secret("NOSUCHKEY") is None


async def test_s3_rejections_tell_an_unknown_key_from_a_bad_signature(backend: CloudStackBackend,
                                                                       sim: Simulator) -> None:
    provider = BackendCredentialProvider(backend.shared.keys)
    ak, sk = sim.keys("b")
    assert (await authenticate_s3(_signed(ak, sk, service="s3"), provider, region="us-east-1")).identity is not None
    with pytest.raises(errors.SignatureDoesNotMatch):
        await authenticate_s3(_signed(ak, "wrong", service="s3"), provider, region="us-east-1")
    with pytest.raises(errors.InvalidAccessKeyId):
        await authenticate_s3(_signed("NOSUCHKEY", sk, service="s3"), provider, region="us-east-1")


async def test_key_lookup_without_admin_rights_is_unavailable(backend: CloudStackBackend, sim: Simulator) -> None:
    keys = CloudStackKeys(backend.shared.client(*sim.keys("b")))  # a user, not an admin: getUser is refused
    with pytest.raises(base.Unavailable):
        await keys.secret(sim.keys("a")[0])
