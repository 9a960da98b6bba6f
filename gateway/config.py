"""YAML configuration: parsed into frozen dataclasses, validated at start.

Any mistake fails start-up with one line naming the file and the key (`config.yaml: listen.port: ...`):
a gateway that starts with a half-understood config is worse than one that refuses to start.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Listen:
    host: str = "127.0.0.1"
    port: int = 8787


@dataclass(frozen=True)
class Server:
    # SIGTERM drains a replica: /healthz answers 503 for `drain_notice_seconds` while requests are still
    # served (the load balancer's health checks take it out of rotation), then the listener closes and
    # in-flight requests get up to `drain_seconds` to finish before the process exits 0.
    drain_notice_seconds: float = 3.0
    drain_seconds: float = 30.0
    # auto: uvloop where installed (less CPU per request), else asyncio; uvloop: required; asyncio: never uvloop
    event_loop: str = "auto"


@dataclass(frozen=True)
class StaticCredential:
    access_key: str
    secret_key: str = field(repr=False)  # never printed, never logged
    account_id: str = "000000000000"
    display_name: str = ""
    # What the backend needs to act as this user (e.g. Swift tempauth user/key); opaque to the gateway.
    backend: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Auth:
    # Allowed clock difference for signed requests; AWS uses 15 minutes.
    clock_skew_seconds: int = 900
    static: tuple[StaticCredential, ...] = ()
    # AWS Signature Version 2 (EC2 query, S3 header and query); false refuses it as newer AWS regions do.
    signature_v2: bool = True


@dataclass(frozen=True)
class S3:
    # Hosts `<bucket>.<domain>` are virtual-hosted-style requests; anything else is path-style.
    virtual_host_domains: tuple[str, ...] = ()
    # Lifecycle expiration sweeper (gateway/s3/expiry.py): seconds between passes (0 = off), and the
    # most keys one pass examines (a pass cut short resumes on the next).
    lifecycle_interval_seconds: int = 3600
    lifecycle_max_keys_per_pass: int = 100_000
    # What a new bucket gets when CreateBucket names nothing (gateway/s3/ownership.py, docs/s3-access-control.md):
    # "legacy" = ObjectWriter ownership and no Block Public Access (ACLs work as before);
    # "aws" = AWS's defaults since 2023: BucketOwnerEnforced (ACLs off) and all four Block Public Access flags.
    new_bucket_defaults: str = "legacy"
    # Server-side encryption (gateway/s3/sse.py). Master keys for SSE-S3: id -> base64 of 32 random bytes;
    # all of them unwrap, `sse_write_key_id` wraps new objects' data keys (rotation: add a key, switch).
    sse_master_keys: dict[str, str] = field(default_factory=dict, repr=False)
    sse_write_key_id: str = ""
    # New buckets default to SSE-S3 (as AWS since 2023): needs a master key.
    encrypt_new_buckets: bool = False
    # S3 refuses SSE-C over plain HTTP; a gateway on loopback or behind a TLS proxy may allow it.
    sse_c_allow_http: bool = False


@dataclass(frozen=True)
class Ec2:
    # Terminated instances stay visible in DescribeInstances as `terminated` this long, as on AWS.
    terminated_retention_seconds: int = 3600
    # true (as AWS accounts since 2013): the account is VPC-only (DescribeAccountAttributes says so) and an
    # instance launched without a subnet goes to the default VPC (a default subnet per zone), created on first
    # need; false: EC2-Classic-style launches (the cloud's default network) next to VPCs, as the EC2 suite's
    # classic tests expect.
    default_vpc: bool = True
    # EC2-Classic-style launches get a public address (a floating IP of the cloud's public network) as on
    # AWS; false saves a small public pool. It is attached once the cloud made the server's port, at most
    # this many seconds after the launch.
    public_ip_on_launch: bool = True
    public_ip_deadline_seconds: int = 600
    # Background work (launch addresses, deferred volume deletes: gateway/ec2/work.py) holds a lease in the
    # state store, renewed every third of this; a replica killed mid-task leaves it to the others' sweep,
    # run this often, within lease + sweep seconds.
    work_lease_seconds: float = 30
    work_sweep_seconds: float = 10


@dataclass(frozen=True)
class Limits:
    # EC2 query strings and form bodies are buffered, so they are capped; S3 object bodies stream.
    max_form_bytes: int = 1 << 20
    # S3 XML request bodies (DeleteObjects with 1000 keys is ~100 KB; AWS caps configuration XML too).
    max_xml_bytes: int = 4 << 20
    # Slow clients (slowloris): a request head must arrive whole within this many seconds of the connection
    # opening or of the previous answer (it also closes idle keep-alive connections), and a body read
    # waits at most this long for the next bytes (then RequestTimeout, as S3 answers after ~20 s idle).
    header_timeout_seconds: float = 20.0
    body_idle_timeout_seconds: float = 20.0


@dataclass(frozen=True)
class Logging:
    level: str = "info"
    format: str = "json"  # json | text


@dataclass(frozen=True)
class Backend:
    type: str  # swift | openstack | cloudstack (see gateway/backend_factory.py)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class State:
    # sqlite:///path (embedded, one gateway), or a database several replicas share:
    # postgresql://user:password@host:port/db, mysql://user:password@host:port/db (MariaDB), see docs/state.md
    url: str = "sqlite:///cloudgate-state.db"
    # S3 bucket facts (owner, ACL, lifecycle, CORS...) are read from memory for this long; the gateway's
    # own writes take effect at once, another replica's within this many seconds (0 = always read).
    cache_seconds: float = 3.0
    # Database servers only: connections per gateway process, the deadline to open one, and the deadline
    # for one store call (waiting for a pooled connection included). Past either: 503 ServiceUnavailable.
    pool_size: int = 10
    connect_timeout_seconds: float = 5.0
    timeout_seconds: float = 5.0

    def store_options(self) -> dict[str, Any]:
        """open_store's keyword arguments."""
        return {"pool_size": self.pool_size, "connect_timeout": self.connect_timeout_seconds,
                "timeout": self.timeout_seconds}


@dataclass(frozen=True)
class Metadata:
    # The instance metadata listener (gateway/metadata, docs/metadata.md): where Nova's metadata API sits,
    # behind Neutron's metadata proxy. Off unless enabled; its own port (Nova's is 8775), loopback by default.
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8775
    # Neutron's `metadata_proxy_shared_secret`: the proxy signs X-Instance-ID with it (HMAC-SHA256).
    shared_secret: str = field(default="", repr=False)
    # PEM private key (RSA) that signs the instance identity document (dynamic/instance-identity/signature);
    # none: the signature paths answer 404.
    identity_key_file: str = ""
    # The proxy in front passes the guest's X-aws-ec2-metadata-token(-ttl-seconds) headers both ways (IMDSv2).
    # false for stock Neutron metadata agents, which drop them: a token request then answers 404, so SDKs
    # fall back to IMDSv1 instead of failing on the 400 a token request without its TTL header gets.
    guest_headers: bool = True
    # An instance's EC2 view (addresses, tags, groups) is reused this long between a guest's requests;
    # its metadata options (tokens, endpoint) are always read fresh.
    cache_seconds: float = 5.0


@dataclass(frozen=True)
class Config:
    listen: Listen = field(default_factory=Listen)
    server: Server = field(default_factory=Server)
    region: str = "us-east-1"
    auth: Auth = field(default_factory=Auth)
    s3: S3 = field(default_factory=S3)
    ec2: Ec2 = field(default_factory=Ec2)
    limits: Limits = field(default_factory=Limits)
    logging: Logging = field(default_factory=Logging)
    backend: Backend | None = None
    state: State = field(default_factory=State)
    metadata: Metadata = field(default_factory=Metadata)
    source: str = "<defaults>"  # the file this came from, for messages


_REGION = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$", re.I)
_LEVELS = {"debug", "info", "warning", "error"}


def _build(cls: type, data: Any, path: str) -> Any:
    """Build dataclass `cls` from YAML `data`, rejecting unknown keys and wrong types by key path."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path or '<top>'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{_join(path, unknown[0])}: unknown key (allowed: {', '.join(sorted(fields))})")
    kwargs = {}
    for name, f in fields.items():
        key = _join(path, name)
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{key}: required key is missing")
            continue
        kwargs[name] = _convert(hints[name], data[name], key)
    return cls(**kwargs)


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if value is None else _convert(args[0], value, key)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {type(value).__name__}")
        item = typing.get_args(tp)[0]
        return tuple(_convert(item, v, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
        return dict(value)
    if tp is Any:
        return value
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is str and not isinstance(value, str):
        # YAML turns 000000000000 into an int: an account id must be quoted.
        raise ConfigError(f"{key}: expected a string, got {value!r} (quote it)")
    return value


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check(cfg: Config) -> None:
    if not 0 < cfg.listen.port < 65536:
        raise ConfigError(f"listen.port: {cfg.listen.port} is not a TCP port")
    for name in ("drain_notice_seconds", "drain_seconds"):
        value = getattr(cfg.server, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
            raise ConfigError(f"server.{name}: must be a number of seconds from 0 to 3600")
    if cfg.server.event_loop not in ("auto", "uvloop", "asyncio"):
        raise ConfigError("server.event_loop: must be auto, uvloop or asyncio")
    if not _REGION.match(cfg.region):
        raise ConfigError(f"region: {cfg.region!r} is not a region name")
    if cfg.logging.level not in _LEVELS:
        raise ConfigError(f"logging.level: must be one of {sorted(_LEVELS)}")
    if cfg.logging.format not in ("json", "text"):
        raise ConfigError("logging.format: must be json or text")
    if isinstance(cfg.state.cache_seconds, bool) or not isinstance(cfg.state.cache_seconds, int | float) \
            or not 0 <= cfg.state.cache_seconds <= 60:
        raise ConfigError("state.cache_seconds: must be a number of seconds from 0 (off) to 60")
    if cfg.s3.lifecycle_interval_seconds < 0:
        raise ConfigError("s3.lifecycle_interval_seconds: must be 0 (off) or positive")
    if cfg.s3.lifecycle_max_keys_per_pass <= 0:
        raise ConfigError("s3.lifecycle_max_keys_per_pass: must be positive")
    if cfg.s3.new_bucket_defaults not in ("aws", "legacy"):
        raise ConfigError("s3.new_bucket_defaults: must be aws or legacy")
    _check_sse(cfg.s3)
    for name in ("max_form_bytes", "max_xml_bytes", "header_timeout_seconds", "body_idle_timeout_seconds"):
        value = getattr(cfg.limits, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"limits.{name}: must be positive")
    if cfg.ec2.terminated_retention_seconds < 0:
        raise ConfigError("ec2.terminated_retention_seconds: must not be negative")
    if cfg.ec2.public_ip_deadline_seconds <= 0:
        raise ConfigError("ec2.public_ip_deadline_seconds: must be positive")
    for name in ("work_lease_seconds", "work_sweep_seconds"):
        value = getattr(cfg.ec2, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"ec2.{name}: must be a positive number of seconds")
    _check_state(cfg.state)
    _check_metadata(cfg.metadata)
    seen = set()
    for i, cred in enumerate(cfg.auth.static):
        if not cred.access_key or not cred.secret_key:
            raise ConfigError(f"auth.static[{i}]: access_key and secret_key must not be empty")
        if cred.access_key in seen:
            raise ConfigError(f"auth.static[{i}].access_key: duplicate key {cred.access_key}")
        seen.add(cred.access_key)


def _check_state(state: State) -> None:
    from .store import SCHEMES  # the store package is the one that knows them

    if not state.url.startswith(SCHEMES):
        raise ConfigError(f"state.url: must start with one of {', '.join(SCHEMES)}")
    if not 1 <= state.pool_size <= 1000:
        raise ConfigError("state.pool_size: must be from 1 to 1000")
    for name in ("connect_timeout_seconds", "timeout_seconds"):
        value = getattr(state, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 300:
            raise ConfigError(f"state.{name}: must be a number of seconds above 0, at most 300")


def _check_metadata(md: Metadata) -> None:
    if not 0 < md.port < 65536:
        raise ConfigError(f"metadata.port: {md.port} is not a TCP port")
    if md.enabled and not md.shared_secret:  # unsigned requests are never served
        raise ConfigError("metadata.shared_secret: required when metadata.enabled (Neutron's "
                          "metadata_proxy_shared_secret)")
    if isinstance(md.cache_seconds, bool) or not isinstance(md.cache_seconds, int | float) \
            or not 0 <= md.cache_seconds <= 300:
        raise ConfigError("metadata.cache_seconds: must be a number of seconds from 0 to 300")
    if md.identity_key_file:
        try:
            Path(md.identity_key_file).read_bytes()
        except OSError as e:
            raise ConfigError(f"metadata.identity_key_file: cannot read: {e.strerror}") from None


def parse_config(data: Any, source: str = "<string>") -> Config:
    try:
        cfg = _build(Config, {} if data is None else data, "")
        _check(cfg)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    return dataclasses.replace(cfg, source=source)


def load_config(path: str | Path) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{p}: cannot read: {e.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {e}") from None
    return parse_config(data, str(p))


def _check_sse(s3: S3) -> None:
    import base64
    import binascii

    for kid, encoded in s3.sse_master_keys.items():
        try:
            raw = base64.b64decode(str(encoded), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:  # the value is a secret: never echoed
            raise ConfigError(f"s3.sse_master_keys.{kid}: must be base64 of 32 bytes")
    if s3.sse_write_key_id and s3.sse_write_key_id not in s3.sse_master_keys:
        raise ConfigError("s3.sse_write_key_id: names no key of s3.sse_master_keys")
    if s3.sse_master_keys and not s3.sse_write_key_id:
        raise ConfigError("s3.sse_write_key_id: required with s3.sse_master_keys")
    if s3.encrypt_new_buckets and not s3.sse_write_key_id:
        raise ConfigError("s3.encrypt_new_buckets: needs s3.sse_master_keys and s3.sse_write_key_id")
