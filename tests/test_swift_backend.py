"""The Swift ObjectStore against a real Swift (devcloud/swift.sh): every method, streaming, errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
import socket
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator

import aiohttp
import pytest

from backends import base
from backends.base import Segment
from backends.openstack import swift, swift_backend
from backends.openstack.swift import SwiftClient, TempAuth, Token
from backends.openstack.swift_backend import SwiftBackend, SwiftObjectStore
from gateway.auth.credentials import Identity

MiB = 1 << 20


def ident(user: str = "test:tester", key: str = "testing") -> Identity:
    return Identity("AKIDTEST", "111111111111", "t", {"backend": {"swift_user": user, "swift_key": key}})


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def read_all(body: AsyncIterator[bytes]) -> bytes:
    return b"".join([c async for c in body])


@pytest.fixture
async def backend(swift_endpoint):
    b = SwiftBackend.from_options({"auth_url": swift_endpoint.auth_url, "timeout": 30})
    await b.start()
    yield b
    await b.close()


@pytest.fixture
async def store(backend) -> SwiftObjectStore:
    return await backend.object_store(ident())


@pytest.fixture
def container(swift_endpoint, request):
    """A unique container name for tenant A (plus its `+segments`), purged afterwards via plain Swift."""
    name = f"t-{request.node.name[:30].lower().replace('_', '-')}-{secrets.token_hex(3)}"
    yield name
    direct = swift_endpoint.direct("a")
    for c in (name, name + "+segments"):
        direct.purge_container(c)


async def put(store, container, key, data=b"hello", **kw):
    return await store.put_object(container, key, chunks(data), size=kw.pop("size", len(data)), **kw)


# ---- options and principals --------------------------------------------------------------------------
def test_options_are_validated():
    with pytest.raises(ValueError, match="unknown option regoin"):
        SwiftBackend.from_options({"auth_url": "http://127.0.0.1:1/auth/v1.0", "regoin": "x"})
    with pytest.raises(ValueError, match="auth_url"):
        SwiftBackend.from_options({})
    with pytest.raises(ValueError, match="timeout"):
        SwiftBackend.from_options({"auth_url": "http://127.0.0.1:1/auth/v1.0", "timeout": -1})
    with pytest.raises(ValueError, match="cache_seconds"):
        SwiftBackend.from_options({"auth_url": "http://127.0.0.1:1/auth/v1.0", "cache_seconds": 600})
    b = SwiftBackend.from_options({"auth_url": "http://h/auth/v1.0", "timeout": 3, "connect_timeout": 1.5,
                                   "cache_seconds": 0})
    assert (b.timeout, b.connect_timeout, b.cache_seconds) == (3.0, 1.5, 0.0)


def test_factory_names_the_bad_option():
    from gateway.backend_factory import build_backend
    from gateway.config import ConfigError, parse_config

    cfg = parse_config({"backend": {"type": "swift", "options": {"auth_url": "http://h/a", "bogus": 1}}}, "x.yaml")
    with pytest.raises(ConfigError, match=r"x\.yaml: backend\.options: unknown option bogus"):
        build_backend(cfg)
    ok = parse_config({"backend": {"type": "swift", "options": {"auth_url": "http://h/auth/v1.0"}}}, "x.yaml")
    assert isinstance(build_backend(ok), SwiftBackend)


async def test_principal_without_swift_credentials_is_forbidden(backend):
    with pytest.raises(base.Forbidden):
        await backend.object_store(Identity("AK", "1", "x", {}))


async def test_wrong_swift_key_is_forbidden(backend):
    store = await backend.object_store(ident(key="wrong"))
    with pytest.raises(base.Forbidden):
        await store.list_containers()


async def test_expired_token_reauthenticates_once(store, container):
    await store.create_container(container)
    good = store.auth._cached
    store.auth._cached = Token("AUTH_tk_bogus", good.storage_url, None)
    assert (await store.head_container(container)).name == container
    assert store.auth._cached.token != "AUTH_tk_bogus"


def _record_exchanges(store) -> list[tuple[str, bool]]:
    """(method, sent with Expect: 100-continue) of every HTTP exchange the store's client makes from now."""
    seen: list[tuple[str, bool]] = []
    raw = store.client.raw

    def recording(method, url, **kw):
        seen.append((method, bool(kw.get("expect100"))))
        return raw(method, url, **kw)
    store.client.raw = recording
    return seen


async def test_streamed_uploads_ask_first_only_with_a_token_not_vouched_for(store, container, monkeypatch):
    await store.create_container(container)  # Swift accepted the token just now
    seen = _record_exchanges(store)
    data = secrets.token_bytes(200_000)
    await store.put_object(container, "k", chunks(data, 65536), size=len(data))
    assert seen == [("HEAD", False), ("PUT", False)]  # versioning state, then the body at once
    monkeypatch.setattr(swift, "VOUCH_SECONDS", 0)
    seen.clear()
    await store.put_object(container, "k", chunks(data, 65536), size=len(data))
    assert seen == [("PUT", True)]


async def test_a_revoked_token_during_an_upload(store, container):
    """Not vouched for: Swift refuses before the body (100-continue) and the upload goes on with a new
    token. Vouched for (accepted moments ago, revoked since): the body went unasked, so the upload fails
    as Unavailable (a retryable 503), stores nothing, and the token is renewed. A body of one chunk or less
    is sent as bytes: replayed with the new token either way."""
    await store.create_container(container)
    good = store.auth._cached
    bogus = Token("AUTH_tk_bogus", good.storage_url, None)
    data = secrets.token_bytes(200_000)
    store.auth._cached = bogus
    assert (await store.put_object(container, "a", chunks(data, 65536), size=len(data))).size == len(data)
    assert store.auth._cached.token != bogus.token
    store.auth._cached = bogus
    store.auth.vouch(bogus)
    with pytest.raises(base.Unavailable):
        await store.put_object(container, "b", chunks(data, 65536), size=len(data))
    assert store.auth._cached.token != bogus.token
    with pytest.raises(base.NotFound):
        await store.head_object(container, "b")
    store.auth._cached = bogus
    store.auth.vouch(bogus)
    assert (await store.put_object(container, "c", chunks(b"x" * 1000, 100), size=1000)).size == 1000
    assert await read_all((await store.get_object(container, "c"))[2]) == b"x" * 1000


async def test_versioning_state_is_shared_by_an_accounts_requests_and_corrected_by_writes(
        backend, container, swift_endpoint):
    """A container's versioning state is learnt once per account (not per request), follows the
    gateway's own changes at once, and a change made past the gateway is caught by the next write's
    answer: that one write lands as S3's null version (S3 documents the same propagation window)."""
    first = await backend.object_store(ident())
    await first.create_container(container)
    seen = _record_exchanges(first)  # the client is shared: this sees every store of the backend
    await put(await backend.object_store(ident()), container, "k", b"1")
    await put(await backend.object_store(ident()), container, "k", b"2")
    assert [m for m, _ in seen] == ["HEAD", "PUT", "PUT"]
    second = await backend.object_store(ident())  # another request of the same account
    await second.set_versioning(container, True)
    v3 = await put(first, container, "k", b"3")
    assert v3.version_id is not None
    await second.set_versioning(container, False)
    assert (await put(first, container, "k", b"4")).version_id is None
    swift_endpoint.direct("a").request("POST", container, headers={"X-Versions-Enabled": "true"})
    stale = await put(first, container, "k", b"5")
    assert stale.version_id is None  # written as the null version, and reported so
    fresh = await put(first, container, "k", b"6")
    assert fresh.version_id is not None  # the previous answer corrected the state
    listing = await first.list_objects(container, versions=True)
    versions = [(o.version_id, o.is_latest) for o in listing.objects if o.key == "k"]
    assert versions[0] == (fresh.version_id, True)
    assert (None, False) in versions and (v3.version_id, False) in versions
    assert await read_all((await first.get_object(container, "k", version_id="null"))[2]) == b"5"


# ---- containers -----------------------------------------------------------------------------------------
async def test_container_lifecycle(store, container):
    assert await store.create_container(container, {"Color": "blue"}) is True
    assert await store.create_container(container) is False  # already ours: Swift answers 202
    info = await store.head_container(container)
    assert (info.name, info.object_count, info.bytes_used, info.versioning) == (container, 0, 0, None)
    assert info.metadata == {"color": "blue"}
    assert info.created is not None and info.created.tzinfo is not None
    await store.set_container_metadata(container, {"shape": "round"}, remove=("color",))
    assert (await store.head_container(container)).metadata == {"shape": "round"}
    await put(store, container, "k", b"12345")
    info = await store.head_container(container)
    assert (info.object_count, info.bytes_used) == (1, 5)
    assert container in [c.name for c in await store.list_containers()]
    with pytest.raises(base.Conflict):
        await store.delete_container(container)
    await store.delete_object(container, "k")
    await store.delete_container(container)
    with pytest.raises(base.NotFound) as e:
        await store.head_container(container)
    assert e.value.kind == "container"
    with pytest.raises(base.NotFound) as e:
        await store.delete_container(container)
    assert e.value.kind == "container"


async def test_accounts_are_isolated(backend, container):
    a = await backend.object_store(ident())
    b = await backend.object_store(ident("test2:tester2", "testing2"))
    await a.create_container(container)
    await put(a, container, "secret", b"a's data")
    assert container not in [c.name for c in await b.list_containers()]
    with pytest.raises(base.NotFound):
        await b.head_container(container)
    with pytest.raises(base.NotFound):
        await b.get_object(container, "secret")


# ---- objects ----------------------------------------------------------------------------------------
async def test_put_get_head_round_trip(store, container):
    await store.create_container(container)
    data = b"hello world" * 100
    meta = {"Mixed-Case": "v1", "snake_case": "v2", "pct%name": "v3"}
    headers = {"content-encoding": "identity", "content-disposition": "attachment; filename=x.txt",
               "content-language": "de", "cache-control": "no-cache", "expires": "Thu, 01 Dec 2039 16:00:00 GMT"}
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    put_info = await put(store, container, "dir/ünïcode key.txt", data, content_type="text/plain",
                         metadata=meta, private={"s3-etag": "abc-2"}, headers=headers,
                         md5=hashlib.md5(data).hexdigest())
    assert put_info.etag == hashlib.md5(data).hexdigest() and put_info.size == len(data)
    info, rng, body = await store.get_object(container, "dir/ünïcode key.txt")
    assert rng is None and await read_all(body) == data
    head = await store.head_object(container, "dir/ünïcode key.txt")
    for i in (info, head):
        assert i.size == len(data) and i.etag == hashlib.md5(data).hexdigest()
        assert i.content_type == "text/plain"
        assert i.metadata == {"mixed-case": "v1", "snake_case": "v2", "pct%name": "v3"}
        assert i.private == {"s3-etag": "abc-2"}  # private never leaks into metadata
        assert i.headers == headers
        assert i.last_modified.tzinfo == dt.UTC and before <= i.last_modified <= dt.datetime.now(dt.UTC)
        assert i.version_id is None and not i.manifest
    listed = (await store.list_objects(container)).objects[0]
    assert listed.last_modified == head.last_modified  # same second, whole seconds everywhere


async def test_default_content_type_and_empty_object(store, container):
    await store.create_container(container)
    await store.put_object(container, "photo.jpg", chunks(b""), size=0)
    info = await store.head_object(container, "photo.jpg")
    assert (info.size, info.content_type, info.etag) == (0, "application/octet-stream",
                                                          hashlib.md5(b"").hexdigest())


async def test_unknown_size_streams_chunked(store, container):
    await store.create_container(container)
    data = secrets.token_bytes(100_000)
    info = await store.put_object(container, "k", chunks(data, 4096), size=None)
    assert info.size == len(data) and info.etag == hashlib.md5(data).hexdigest()


async def test_private_metadata_cannot_be_forged(store, container):
    await store.create_container(container)
    with pytest.raises(base.InvalidInput):
        await put(store, container, "k", content_type="text/plain;cloudgate=s3-etag%3Dforged")
    await put(store, container, "k", metadata={"cloudgate": "x", "cloudgate-s3-etag": "y"})
    info = await store.head_object(container, "k")
    assert info.private == {} and info.metadata == {"cloudgate": "x", "cloudgate-s3-etag": "y"}


async def test_private_metadata_shows_in_listings(store, container):
    await store.create_container(container)
    private = {"s3-etag": "0123abcd-2", "checksum-sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
               "odd name": "a=b&c;d"}
    await put(store, container, "k", content_type="text/plain; charset=utf-8", private=private)
    listed = (await store.list_objects(container)).objects[0]
    assert listed.private == private and listed.content_type == "text/plain;charset=utf-8"  # Swift's form
    head = await store.head_object(container, "k")
    assert head.private == private and head.content_type == "text/plain; charset=utf-8"
    await store.set_versioning(container, True)
    await put(store, container, "k", b"v2", private={"s3-etag": "v2"})
    versions = (await store.list_objects(container, versions=True)).objects
    assert [v.private for v in versions] == [{"s3-etag": "v2"}, private]


async def test_checksum_mismatch_stores_nothing(store, container):
    await store.create_container(container)
    with pytest.raises(base.ChecksumMismatch):
        await put(store, container, "k", b"data", md5=hashlib.md5(b"other").hexdigest())
    with pytest.raises(base.NotFound):
        await store.head_object(container, "k")


async def test_body_shorter_than_declared_stores_nothing(store, container):
    await store.create_container(container)
    with pytest.raises(base.BackendError):
        await store.put_object(container, "k", chunks(b"abc"), size=10)
    with pytest.raises(base.NotFound):
        await store.head_object(container, "k")


async def test_if_none_match_refuses_overwrite(store, container):
    await store.create_container(container)
    await put(store, container, "k", b"one", if_none_match=True)
    with pytest.raises(base.PreconditionFailed):
        await put(store, container, "k", b"two", if_none_match=True)
    _, _, body = await store.get_object(container, "k")
    assert await read_all(body) == b"one"


async def test_missing_things_raise_not_found_with_kind(store, container):
    with pytest.raises(base.NotFound) as e:
        await put(store, container, "k")
    assert e.value.kind == "container"
    await store.create_container(container)
    for call in (store.get_object(container, "nope"), store.head_object(container, "nope")):
        with pytest.raises(base.NotFound) as e:
            await call
        assert e.value.kind == "object"
    await put(store, container, "k")
    with pytest.raises(base.NotFound) as e:
        await store.head_object(container, "k", version_id="1700000000.00000")
    assert e.value.kind == "version"
    assert await store.delete_object(container, "nope") is None  # deleting nothing is not an error


async def test_metadata_value_over_swift_limit_is_invalid_input(store, container):
    await store.create_container(container)
    with pytest.raises(base.InvalidInput):  # stock Swift: max_meta_value_length = 256
        await put(store, container, "k", metadata={"big": "x" * 300})


# ---- ranges ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("asked, first, last", [((0, 4), 0, 4), ((5, None), 5, 25), ((None, 3), 23, 25),
                                                ((20, 1000), 20, 25), ((None, 1000), 0, 25)])
async def test_ranges(store, container, asked, first, last):
    await store.create_container(container)
    data = bytes(range(65, 65 + 26))
    await put(store, container, "k", data)
    info, rng, body = await store.get_object(container, "k", byte_range=asked)
    assert (rng.first, rng.last, rng.size) == (first, last, 26)
    assert info.size == 26  # the object's size, not the range's
    assert await read_all(body) == data[first:last + 1]


@pytest.mark.parametrize("asked", [(26, None), (30, 40), (None, 0)])
async def test_unsatisfiable_range_reports_size(store, container, asked):
    await store.create_container(container)
    await put(store, container, "k", bytes(26))
    with pytest.raises(base.RangeNotSatisfiable) as e:
        await store.get_object(container, "k", byte_range=asked)
    assert e.value.size == 26


# ---- streaming -------------------------------------------------------------------------------------------
async def test_64_mib_streams_both_ways_in_bounded_memory(store, container):
    await store.create_container(container)
    block = secrets.token_bytes(MiB)
    total = 64 * MiB

    async def source() -> AsyncIterator[bytes]:
        for _ in range(total // MiB):
            yield block  # the same buffer again and again: any copy that piles up shows in tracemalloc

    md5 = hashlib.md5()
    for _ in range(total // MiB):
        md5.update(block)
    tracemalloc.start()
    try:
        info = await store.put_object(container, "big", source(), size=total)
        _, up_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        got, _, body = await store.get_object(container, "big")
        down = hashlib.md5()
        n = 0
        async for chunk in body:
            down.update(chunk)
            n += len(chunk)
        _, down_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.etag == md5.hexdigest() == got.etag == down.hexdigest() and n == total
    assert up_peak < 8 * MiB, f"upload peaked at {up_peak / MiB:.1f} MiB of Python allocations"
    assert down_peak < 8 * MiB, f"download peaked at {down_peak / MiB:.1f} MiB of Python allocations"


async def test_closing_a_body_early_frees_the_connection(swift_endpoint, container):
    # One connection in the pool: a leaked one would block the next request forever.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        client = SwiftClient(session, timeout=5, connect_timeout=2)
        store = SwiftObjectStore(client, TempAuth(swift_endpoint.auth_url, "test:tester", "testing"))
        await store.create_container(container)
        await put(store, container, "k", bytes(4 * MiB))
        for _ in range(3):
            _, _, body = await store.get_object(container, "k")
            first = await body.__anext__()
            assert first
            await body.aclose()
        info = await asyncio.wait_for(store.head_object(container, "k"), 10)
        assert info.size == 4 * MiB


# ---- delete, versions -----------------------------------------------------------------------------------
async def test_versioning(store, container):
    await store.create_container(container)
    await put(store, container, "k", b"before")  # written before versioning
    await store.set_versioning(container, True)
    assert (await store.head_container(container)).versioning is True
    v1 = await put(store, container, "k", b"one")
    v2 = await put(store, container, "k", b"two")
    assert v1.version_id and v2.version_id and v1.version_id != v2.version_id
    _, _, body = await store.get_object(container, "k", version_id=v1.version_id)
    assert await read_all(body) == b"one"
    assert (await store.head_object(container, "k")).version_id == v2.version_id

    marker = await store.delete_object(container, "k")
    assert marker.delete_marker and marker.version_id
    with pytest.raises(base.NotFound):
        await store.get_object(container, "k")
    assert (await store.list_objects(container)).objects == []

    listing = await store.list_objects(container, versions=True)
    got = [(o.key, o.version_id, o.is_latest, o.delete_marker) for o in listing.objects]
    assert got[0] == ("k", marker.version_id, True, True)
    assert got[1:3] == [("k", v2.version_id, False, False), ("k", v1.version_id, False, False)]
    # the object written before versioning stays S3's null version (None), though Swift renamed it
    assert got[3] == ("k", None, False, False)
    _, _, body = await store.get_object(container, "k", version_id="null")
    assert await read_all(body) == b"before"
    assert (await store.head_object(container, "k", version_id="null")).version_id is None

    # paging through versions with marker + version marker
    page = await store.list_objects(container, versions=True, limit=2)
    assert page.truncated and len(page.objects) == 2
    rest = await store.list_objects(container, versions=True, marker=page.objects[-1].key,
                                    version_marker=page.objects[-1].version_id)
    assert [o.version_id for o in page.objects + rest.objects] == [g[1] for g in got]
    page = await store.list_objects(container, versions=True, limit=3)  # ends just before "null"
    rest = await store.list_objects(container, versions=True, marker="k", version_marker=page.objects[-1].version_id)
    assert [o.version_id for o in rest.objects] == [None]

    # removing the delete marker by id brings v2 back
    removed = await store.delete_object(container, "k", version_id=marker.version_id)
    assert removed.delete_marker and removed.version_id == marker.version_id
    _, _, body = await store.get_object(container, "k")
    assert await read_all(body) == b"two"
    gone = await store.delete_object(container, "k", version_id=v1.version_id)
    assert gone.version_id == v1.version_id and not gone.delete_marker
    with pytest.raises(base.NotFound) as e:
        await store.get_object(container, "k", version_id=v1.version_id)
    assert e.value.kind == "version"
    with pytest.raises(base.NotFound) as e:
        await store.delete_object(container, "k", version_id=v1.version_id)
    assert e.value.kind == "version"

    # the null version can be deleted by that name, once Swift renamed it
    gone = await store.delete_object(container, "k", version_id="null")
    assert gone.version_id is None
    assert [o.version_id for o in (await store.list_objects(container, versions=True)).objects] == [v2.version_id]

    await store.set_versioning(container, False)
    assert (await store.head_container(container)).versioning is False
    suspended = await put(store, container, "k", b"suspended")
    assert suspended.version_id is None  # written while suspended: the null version again
    _, _, body = await store.get_object(container, "k", version_id="null")
    assert await read_all(body) == b"suspended"


# ---- copy ------------------------------------------------------------------------------------------------
async def test_copy_keeps_or_replaces_metadata(store, container):
    await store.create_container(container)
    await put(store, container, "src", b"payload", content_type="text/plain", metadata={"a": "1"},
              private={"p": "x"}, headers={"cache-control": "max-age=5"})
    kept = await store.copy_object(container, "src", container, "kept")
    assert kept.etag == hashlib.md5(b"payload").hexdigest()
    head = await store.head_object(container, "kept")
    assert (head.metadata, head.private, head.headers, head.content_type) == (
        {"a": "1"}, {"p": "x"}, {"cache-control": "max-age=5"}, "text/plain")
    await store.copy_object(container, "src", container, "replaced", metadata={"b": "2"},
                            content_type="application/json", headers={})
    head = await store.head_object(container, "replaced")
    assert (head.metadata, head.private, head.headers, head.content_type) == (
        {"b": "2"}, {"p": "x"}, {}, "application/json")
    # onto itself: the way S3 changes an object's metadata
    await store.copy_object(container, "src", container, "src", metadata={"c": "3"})
    head = await store.head_object(container, "src")
    assert head.metadata == {"c": "3"}
    _, _, body = await store.get_object(container, "src")
    assert await read_all(body) == b"payload"
    with pytest.raises(base.NotFound) as e:
        await store.copy_object(container, "missing", container, "x")
    assert e.value.kind == "object"


async def test_copy_a_specific_version(store, container):
    await store.create_container(container)
    await store.set_versioning(container, True)
    v1 = await put(store, container, "k", b"first")
    await put(store, container, "k", b"second")
    await store.copy_object(container, "k", container, "restored", src_version_id=v1.version_id)
    _, _, body = await store.get_object(container, "restored")
    assert await read_all(body) == b"first"


# ---- segmented objects (SLO) -------------------------------------------------------------------------
async def _segments(store, container, parts: list[bytes]) -> list[Segment]:
    segs = container + "+segments"
    await store.create_container(segs)
    out = []
    for n, data in enumerate(parts, 1):
        info = await put(store, segs, f"k/upload/{n:05d}", data)
        out.append(Segment(segs, f"k/upload/{n:05d}", info.etag, len(data)))
    return out


async def test_manifest_concatenates_and_deletes_its_segments(store, container):
    await store.create_container(container)
    parts = [b"a" * 1000, b"b" * 1000, b"c" * 10]
    segs = await _segments(store, container, parts)
    info = await store.put_manifest(container, "k", segs, content_type="text/plain",
                                    metadata={"m": "1"}, private={"s3-etag": "x-3"})
    assert info.manifest and info.size == 2010
    head = await store.head_object(container, "k")
    assert head.manifest and head.size == 2010 and head.private == {"s3-etag": "x-3"}
    assert head.metadata == {"m": "1"} and head.content_type == "text/plain"
    _, _, body = await store.get_object(container, "k")
    assert await read_all(body) == b"".join(parts)
    _, rng, body = await store.get_object(container, "k", byte_range=(995, 1004))  # across a boundary
    assert (rng.first, rng.last, rng.size) == (995, 1004, 2010)
    assert await read_all(body) == b"aaaaabbbbb"
    listed = (await store.list_objects(container)).objects[0]
    assert listed.manifest and listed.size == 2010 and listed.etag == head.etag
    assert listed.private == {"s3-etag": "x-3"} and listed.content_type == "text/plain"
    # metadata change in place keeps it a manifest (no concatenated copy, no orphaned segments)
    await store.copy_object(container, "k", container, "k", metadata={"m": "2"})
    head = await store.head_object(container, "k")
    assert head.manifest and head.metadata == {"m": "2"} and head.private == {"s3-etag": "x-3"}
    await store.delete_object(container, "k")
    assert (await store.list_objects(container + "+segments")).objects == []


async def test_manifest_with_a_wrong_segment_etag_is_invalid(store, container):
    await store.create_container(container)
    segs = await _segments(store, container, [b"x" * 10])
    segs[0] = Segment(segs[0].container, segs[0].key, "0" * 32, 10)
    with pytest.raises(base.InvalidInput):
        await store.put_manifest(container, "k", segs)


async def test_manifest_beyond_swifts_segment_cap_nests(store, container, monkeypatch):
    monkeypatch.setattr(swift_backend, "MAX_SEGMENTS", 3)  # the real cap is 1000: same code path
    await store.create_container(container)
    parts = [bytes([65 + i]) * 5 for i in range(7)]
    segs = await _segments(store, container, parts)
    info = await store.put_manifest(container, "k", segs)
    assert info.size == 35
    _, _, body = await store.get_object(container, "k")
    assert await read_all(body) == b"".join(parts)
    await store.delete_object(container, "k")  # removes the sub-manifests and every segment
    assert (await store.list_objects(container + "+segments")).objects == []


# ---- listing ---------------------------------------------------------------------------------------------
async def test_listing_order_paging_and_delimiter(store, container):
    await store.create_container(container)
    keys = ["a", "B", "a/b/c", "a/b/d", "a/x", "é", "z", "~", "a b", "ab"]
    for k in keys:
        await put(store, container, k, b"1")
    everything = await store.list_objects(container)
    assert [o.key for o in everything.objects] == sorted(keys, key=lambda k: k.encode())
    assert not everything.truncated and everything.next_marker is None

    seen, marker = [], None
    for _ in range(20):
        page = await store.list_objects(container, marker=marker, limit=3)
        seen += [o.key for o in page.objects]
        if not page.truncated:
            break
        assert page.next_marker == page.objects[-1].key
        marker = page.next_marker
    assert seen == [o.key for o in everything.objects]

    top = await store.list_objects(container, delimiter="/")
    assert top.prefixes == ["a/"] and "a/x" not in [o.key for o in top.objects]
    inner = await store.list_objects(container, prefix="a/", delimiter="/")
    assert inner.prefixes == ["a/b/"] and [o.key for o in inner.objects] == ["a/x"]
    # a page that ends on a prefix continues after everything under it
    page = await store.list_objects(container, delimiter="/", limit=3)
    assert page.truncated
    rest = await store.list_objects(container, delimiter="/", marker=page.next_marker)
    assert "a/" not in rest.prefixes or "a/" not in page.prefixes
    assert (await store.list_objects(container, limit=0)).objects == []


# ---- failures --------------------------------------------------------------------------------------------
async def test_closed_port_is_unavailable_fast():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once closed
    b = SwiftBackend.from_options({"auth_url": f"http://127.0.0.1:{port}/auth/v1.0", "timeout": 2})
    await b.start()
    try:
        store = await b.object_store(ident())
        t0 = time.monotonic()
        with pytest.raises(base.Unavailable):
            await store.list_containers()
        assert time.monotonic() - t0 < 3
    finally:
        await b.close()


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join(5)
    for c in held:
        c.close()
    srv.close()


async def test_silent_server_times_out_as_unavailable(silent_server):
    b = SwiftBackend.from_options({"auth_url": silent_server + "/auth/v1.0", "timeout": 0.5,
                                   "connect_timeout": 0.5})
    await b.start()
    try:
        store = await b.object_store(ident())
        t0 = time.monotonic()
        with pytest.raises(base.Unavailable):
            await store.list_containers()
        assert time.monotonic() - t0 < 3  # one attempt's deadline (+ one retry at most), never a hang
    finally:
        await b.close()


async def test_server_errors_are_unavailable_and_auth_is_retried_once():
    """A fake Swift: tempauth works, the account answers 503; a stale connection is retried once."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    calls: list[str] = []

    async def auth(request: web.Request) -> web.Response:
        calls.append("auth")
        return web.Response(status=200, headers={"X-Auth-Token": "tk", "X-Storage-Url": str(
            request.url.with_path("/v1/AUTH_x"))})

    async def account(request: web.Request) -> web.Response:
        calls.append(request.method)
        return web.Response(status=503, text="overloaded")

    app = web.Application()
    app.router.add_get("/auth/v1.0", auth)
    app.router.add_route("*", "/v1/AUTH_x", account)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        b = SwiftBackend.from_options({"auth_url": str(server.make_url("/auth/v1.0")), "timeout": 2})
        store = await b.object_store(ident())
        with pytest.raises(base.Unavailable, match="503"):
            await store.list_containers()
        assert calls == ["auth", "GET"]  # a 5xx answer is not retried: the deadline is the caller's
        await b.close()
    finally:
        await server.close()


async def test_upload_longer_than_the_timeout_succeeds_while_it_makes_progress(swift_endpoint, container):
    """The deadline is on stalls, not on the whole upload: a slow client streaming for longer than
    `timeout` still completes; a body that stops moving fails with Unavailable within bounded time."""
    b = SwiftBackend.from_options({"auth_url": swift_endpoint.auth_url, "timeout": 1.5})
    await b.start()
    try:
        store = await b.object_store(ident())
        await store.create_container(container)

        async def slow(n: int, pause: float) -> AsyncIterator[bytes]:
            for _ in range(n):
                await asyncio.sleep(pause)
                yield b"x" * 1024

        started = time.monotonic()
        info = await store.put_object(container, "slow", slow(8, 0.4), size=None)  # ~3.2 s > 1.5 s
        assert info.size == 8 * 1024 and time.monotonic() - started > 1.5

        async def stalls() -> AsyncIterator[bytes]:
            yield b"x" * 1024
            await asyncio.sleep(30)
            yield b"never"

        started = time.monotonic()
        with pytest.raises(base.Unavailable):
            await store.put_object(container, "stalled", stalls(), size=None)
        assert time.monotonic() - started < 10
    finally:
        await b.close()
