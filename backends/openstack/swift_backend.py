"""The neutral ObjectStore on Swift's native API (one `SwiftObjectStore` per caller, one shared session).

Mapping choices, each forced by a stock Swift (metadata and Content-Type encoding: `swift_meta.py`):
- Versions ↔ Swift object versioning (`X-Versions-Enabled`, `?versions`, `version-id`); delete markers
  are the `application/x-deleted;swift_versions_deleted=1` entries. S3's "null" version (an object
  written while versioning was off) is version_id None here; Swift renames it when versioning moves it
  aside, so it is marked at write time and found again by that mark. Deleting the newest version makes
  the next one current, as in S3 (Swift alone would leave the key with no current version).
- Segmented objects ↔ SLO manifests; a stock Swift caps a manifest at 1000 segments, so larger ones are
  written as a manifest of sub-manifests (`<first segment container>/<key>/.cloudgate-slo/<id>/<n>`).
  A manifest's segments go with it when it is deleted for good. Swift deletes them only when asked
  (`?multipart-manifest=delete`), and refuses that for a plain object ("Not an SLO manifest", the object
  stays), so a delete must know which it has. A container that ever received a manifest from here carries
  the mark `MANIFESTS_MARK` (set before its first manifest is written, read with the cached versioning
  state). A container this backend created carries `CLEAN_MARK` (it started without manifests); one without
  it (made before these marks, or by someone else) may hold manifests from before, unmarked. An object in a
  clean, unmarked container is deleted with one plain DELETE; elsewhere with the manifest delete first (one
  call for a manifest, a plain DELETE after Swift's refusal for a plain object).
  The mark is set when a multipart upload starts (`expect_manifests`) and again before the manifest PUT.
  A replica that saw the container unmarked less than `cache_seconds` before another replica's first
  manifest there (an upload started and completed within that time) deletes that manifest plainly: its
  segments then stay behind as garbage.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

import aiohttp

from backends import base
from backends.base import ByteRange, ContainerInfo, Listing, ObjectBody, ObjectInfo, Segment

from .http import KEEPALIVE_SECONDS, SWIFT_POOL_SIZE
from .swift import (
    CHUNK,
    CountedBody,
    Reply,
    SwiftClient,
    TempAuth,
    TokenSource,
    iter_body,
    quote_container,
    quote_object,
)
from .swift_meta import (
    CONT_META,
    DEFAULT_TYPE,
    DELETE_MARKER_TYPE,
    NULL_VERSION,
    enc_name,
    etag_of,
    from_http_date,
    from_listing,
    from_timestamp,
    listing_entry,
    meta_headers,
    now,
    object_headers,
    object_info,
    split_content_type,
    split_meta,
    standard,
)
from .swift_state import UNKNOWN, ContainerStates

MAX_SEGMENTS = 1000  # Swift's default slo max_manifest_segments
OPTIONS = {"auth_url", "timeout", "connect_timeout", "cache_seconds"}
CACHE_SECONDS = 3.0  # how long a container's versioning state is trusted (swift_state.py)
MANIFESTS_MARK = "X-Container-Meta-Cloudgate-Manifests"  # this container may hold manifests (any value)
CLEAN_MARK = "X-Container-Meta-Cloudgate-Born-Clean"  # created here, so without manifests until MANIFESTS_MARK
NOT_A_MANIFEST = "Not an SLO manifest"  # Swift's refusal of ?multipart-manifest=delete on a plain object
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+)")
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")


# ---- the store -----------------------------------------------------------------------------------------
class SwiftObjectStore(base.ObjectStore):
    """One caller's view of their Swift account."""

    def __init__(self, client: SwiftClient, auth: TokenSource, states: ContainerStates | None = None) -> None:
        self.client = client
        self.auth = auth
        # container → versioning state, shared by every store of this account (swift_state.py)
        self._states = states if states is not None else ContainerStates(CACHE_SECONDS)

    async def _call(self, method: str, container: str | None = None, obj: str | None = None,
                    **kw: Any) -> Reply:
        return await self.client.call(self.auth, method, container, obj, **kw)

    # ---- containers ----
    async def list_containers(self) -> list[ContainerInfo]:
        out: list[ContainerInfo] = []
        marker = ""
        for _ in range(10_000):  # 10,000 per page: bounded far above any real account
            reply = await self._call("GET", query={"format": "json", "marker": marker}, ok=(404,))
            page = json.loads(reply.body) if reply.status == 200 and reply.body else []
            if not page:
                break
            for c in page:
                created = from_listing(c["last_modified"]) if c.get("last_modified") else None
                out.append(ContainerInfo(name=c["name"], object_count=int(c.get("count", 0)),
                                         bytes_used=int(c.get("bytes", 0)), created=created))
            marker = page[-1]["name"]
        return out

    async def create_container(self, name: str, metadata: Mapping[str, str] | None = None) -> bool:
        reply = await self._call("PUT", name, headers=meta_headers(CONT_META, metadata), kind="container")
        self._states.forget(name)
        if reply.status != 201:
            return False  # 202: it already existed (in this account), maybe with manifests from before
        try:  # set apart from the PUT, which would also mark a container that already existed
            await self._call("POST", name, headers={CLEAN_MARK: "1"}, kind="container")
        except base.BackendError:
            pass  # unmarked, its deletes just take the manifest-aware path
        return True

    async def head_container(self, name: str) -> ContainerInfo:
        reply = await self._call("HEAD", name, kind="container")
        h = reply.headers
        user = split_meta(CONT_META, h)
        for mark in (MANIFESTS_MARK, CLEAN_MARK):
            user.pop(mark[len(CONT_META):].lower(), None)
        enabled = h.get("X-Versions-Enabled")
        versioning = None if enabled is None else enabled.lower() == "true"
        self._states.put(name, versioning)
        self._states.put_manifests(name, MANIFESTS_MARK in h or CLEAN_MARK not in h)
        return ContainerInfo(name=name, object_count=int(h.get("X-Container-Object-Count", 0)),
                             bytes_used=int(h.get("X-Container-Bytes-Used", 0)),
                             created=from_timestamp(h.get("X-Timestamp")), metadata=user,
                             versioning=versioning)

    async def set_container_metadata(self, name: str, metadata: Mapping[str, str],
                                     remove: tuple[str, ...] = ()) -> None:
        headers = meta_headers(CONT_META, metadata)
        headers.update({f"x-remove-container-meta-{enc_name(n)}": "x" for n in remove})
        await self._call("POST", name, headers=headers, kind="container")

    async def set_versioning(self, name: str, enabled: bool) -> None:
        await self._call("POST", name, headers={"X-Versions-Enabled": "true" if enabled else "false"},
                         kind="container")
        self._states.put(name, enabled)

    async def delete_container(self, name: str) -> None:
        try:
            await self._call("DELETE", name, kind="container")
        finally:
            self._states.forget(name)

    async def may_hold_delete_markers(self, container: str) -> bool:
        # Swift reports X-Versions-Enabled once versioning was ever turned on (true or false after).
        return await self._versioning(container) is not None

    async def _versioning(self, container: str) -> bool | None:
        known = self._states.get(container)
        if known is UNKNOWN:
            return (await self.head_container(container)).versioning
        return known  # type: ignore[return-value]

    def _observe(self, container: str, reply: Reply) -> None:
        """A write's answer says whether Swift versioned it: keep the remembered state true to it."""
        version = reply.headers.get("X-Object-Version-Id")
        self._states.observed_write(container, bool(version) and version != NULL_VERSION)

    # ---- objects ----
    async def put_object(self, container: str, key: str, body: ObjectBody, *, size: int | None,
                         content_type: str | None = None, metadata: Mapping[str, str] | None = None,
                         private: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
                         md5: str | None = None, if_none_match: bool = False) -> ObjectInfo:
        null = await self._writes_null(container)
        hdrs = object_headers(content_type, metadata, private, headers, null=null)
        if md5:
            hdrs["ETag"] = md5
        if if_none_match:
            hdrs["If-None-Match"] = "*"
        if size is not None:
            hdrs["Content-Length"] = str(size)
        counter = CountedBody(body, size)
        data = await counter.small_or_stream(self.client.timeout)
        reply = await self._call("PUT", container, key, headers=hdrs, data=data, kind="container",
                                 idempotent=not if_none_match and isinstance(data, bytes))
        self._observe(container, reply)
        return ObjectInfo(key=key, size=counter.count, etag=etag_of(reply.headers.get("Etag")),
                          last_modified=from_http_date(reply.headers.get("Last-Modified")) or now(),
                          content_type=content_type or DEFAULT_TYPE, metadata=dict(metadata or {}),
                          private=dict(private or {}), headers=standard(headers),
                          version_id=None if null else _version_out(reply.headers))

    async def get_object(self, container: str, key: str, *, version_id: str | None = None,
                         byte_range: tuple[int | None, int | None] | None = None
                         ) -> tuple[ObjectInfo, ByteRange | None, ObjectBody]:
        try:
            return await self._get(container, key, version_id, byte_range)
        except base.NotFound as e:
            return await self._get(container, key, await self._renamed_null(container, key, version_id, e),
                                   byte_range)

    async def _get(self, container: str, key: str, version_id: str | None,
                   byte_range: tuple[int | None, int | None] | None
                   ) -> tuple[ObjectInfo, ByteRange | None, ObjectBody]:
        headers = {}
        if byte_range is not None:
            first, last = byte_range
            if first is None and last is None:
                raise base.InvalidInput("empty byte range")
            headers["Range"] = f"bytes={'' if first is None else first}-{'' if last is None else last}"
        query = {"version-id": version_id} if version_id else None
        kind = "version" if version_id else "object"
        cm = self.client.open(self.auth, "GET", container, key, query=query, headers=headers, kind=kind,
                              ok=(416,), streaming=True)
        resp = await cm.__aenter__()
        try:
            if resp.status == 416:
                found = _UNSATISFIED_RANGE.match(resp.headers.get("Content-Range", ""))
                raise base.RangeNotSatisfiable(int(found.group(1)) if found else -1)
            resolved = None
            size = None
            if resp.status == 206:
                found = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
                if found is None:  # a multi-range answer: we asked for one range, so this is a bug
                    raise base.Unavailable("Swift answered an unexpected Content-Range")
                resolved = ByteRange(int(found.group(1)), int(found.group(2)), int(found.group(3)))
                size = resolved.size
            info = object_info(key, resp.headers, size)
        except BaseException as e:
            resp.close()
            await cm.__aexit__(type(e), e, e.__traceback__)
            if isinstance(e, base.RangeNotSatisfiable) and e.size < 0:
                # Swift names no size for some unsatisfiable ranges (bytes=-0): ask, now the GET is closed.
                raise base.RangeNotSatisfiable((await self._head(container, key, version_id)).size) from None
            raise
        return info, resolved, iter_body(cm, resp)

    async def head_object(self, container: str, key: str, *, version_id: str | None = None) -> ObjectInfo:
        try:
            return await self._head(container, key, version_id)
        except base.NotFound as e:
            return await self._head(container, key, await self._renamed_null(container, key, version_id, e))

    async def _head(self, container: str, key: str, version_id: str | None) -> ObjectInfo:
        query = {"version-id": version_id} if version_id else None
        reply = await self._call("HEAD", container, key, query=query,
                                 kind="version" if version_id else "object")
        return object_info(key, reply.headers)

    async def delete_object(self, container: str, key: str, *, version_id: str | None = None
                            ) -> ObjectInfo | None:
        versioning = await self._versioning(container)
        if version_id is None and versioning:
            # A delete marker: the data stays reachable by version, so a manifest's segments stay too.
            reply = await self._call("DELETE", container, key, ok=(404,))
            return ObjectInfo(key=key, size=0, etag="", last_modified=now(), content_type=DELETE_MARKER_TYPE,
                              version_id=reply.headers.get("X-Object-Version-Id"), delete_marker=True)
        # Deleting for good: a manifest takes its segments with it (they belong to this version alone).
        if version_id is None:  # the current object (no versions kept): nothing to report back
            await self._delete_current(container, key)
            return None
        asked = version_id
        if version_id == NULL_VERSION:
            version_id = await self._null_id(container, key)
        kind = "version" if version_id else "object"
        query = {"version-id": version_id} if version_id else {}
        try:
            current: ObjectInfo | None = await self._head(container, key, version_id)
        except base.NotFound:
            current = None  # absent, or a delete marker (Swift answers 404 to HEAD on one)
        if current is not None and current.manifest:
            await self._delete_manifest(container, key, query)
            current_version = None
        else:
            reply = await self._call("DELETE", container, key, query=query, kind=kind,
                                     ok=() if version_id else (404,))
            if version_id is None or reply.status == 404:
                return None
            current_version = reply.headers.get("X-Object-Current-Version-Id")
        if version_id is None:
            return None
        if versioning is not None:
            await self._promote_previous(container, key, current_version)
        if current is None:  # it existed, yet HEAD said 404: it was a delete marker
            return ObjectInfo(key=key, size=0, etag="", last_modified=now(), content_type=DELETE_MARKER_TYPE,
                              version_id=None if asked == NULL_VERSION else version_id, delete_marker=True)
        return current

    async def _promote_previous(self, container: str, key: str, current_version: str | None) -> None:
        """After deleting the newest version, make the next one current, as S3 does (Swift leaves the
        key without a current version). A delete marker next in line stays the latest: nothing to do."""
        if current_version not in (None, "null"):
            return  # Swift still has a current version: an older one was deleted
        if current_version is None:  # Swift didn't say (manifest delete): look
            try:
                await self.head_object(container, key)
                return
            except base.NotFound:
                pass
        for entry in (await self._versions_of(container, key))[:10]:
            if entry.get("content_type") == DELETE_MARKER_TYPE:
                return
            # PUT ?version-id with an empty body points the key at that version again.
            reply = await self._call("PUT", container, key, query={"version-id": entry["version_id"]},
                                     data=b"", ok=(404, 412))
            if reply.status // 100 == 2:
                return

    # ---- S3's null version ----
    async def _writes_null(self, container: str) -> bool:
        """True when a write now makes S3's null version (versioning never enabled, or suspended)."""
        return (await self._versioning(container)) is not True

    async def _versions_of(self, container: str, key: str) -> list[dict[str, Any]]:
        """Swift's raw version entries of exactly `key`, newest first (a bounded number of pages)."""
        out: list[dict[str, Any]] = []
        query = {"format": "json", "prefix": key, "versions": "", "limit": "1000"}
        for _ in range(10):
            reply = await self._call("GET", container, query=query, kind="container")
            page = json.loads(reply.body) if reply.body else []
            mine = [e for e in page if e.get("name") == key]
            out += mine
            if len(mine) < len(page) or len(page) < 1000:
                break
            query.update(marker=key, version_marker=page[-1]["version_id"])
        return out

    async def _find_null(self, container: str, key: str) -> str | None:
        """Swift's id for S3's null version of `key` after Swift renamed it, None if there is none."""
        if await self._versioning(container) is None:
            return None
        for entry in await self._versions_of(container, key):
            if split_content_type(entry.get("content_type", ""))[2]:
                return entry["version_id"]
        return None

    async def _renamed_null(self, container: str, key: str, version_id: str | None,
                            error: base.NotFound) -> str:
        """After a NotFound for version "null": the id Swift gave it since, or the error again."""
        if version_id != NULL_VERSION or error.kind == "container":
            raise error
        found = await self._find_null(container, key)
        if found is None:
            raise error
        return found

    async def _null_id(self, container: str, key: str) -> str:
        """Swift's id for S3's null version: "null" while it is current and unrenamed, else its new id."""
        try:
            await self._head(container, key, NULL_VERSION)
            return NULL_VERSION
        except base.NotFound as e:
            return await self._renamed_null(container, key, NULL_VERSION, e)

    async def _delete_current(self, container: str, key: str) -> None:
        """Delete the current object of a container that keeps no versions, absent or not: one call
        where no manifest can be (module docstring), else the manifest delete, then a plain one if Swift
        refuses it for a plain object."""
        if not self._states.may_hold_manifests(container) or \
                not await self._delete_manifest(container, key, {}, plain=True):
            await self._call("DELETE", container, key, ok=(404,))

    async def _delete_manifest(self, container: str, key: str, query: Mapping[str, str], *,
                               plain: bool = False) -> bool:
        """Delete a manifest and its segments. `plain`: the object may be a plain one, which Swift
        refuses to delete this way (False then; it stays)."""
        reply = await self._call("DELETE", container, key, query={**query, "multipart-manifest": "delete"},
                                 headers={"Accept": "application/json"})
        try:
            result = json.loads(reply.body)
        except ValueError:
            raise base.Unavailable(f"Swift answered a manifest delete with {reply.body[:100]!r}") from None
        status = str(result.get("Response Status", ""))
        errors = [e for e in result.get("Errors") or [] if len(e) > 1]
        if status.startswith(("2", "404")) or all(str(e[1]).startswith("404") for e in errors):
            return True
        if plain and status.startswith("400") and errors and all(e[1] == NOT_A_MANIFEST for e in errors):
            return False
        raise base.Unavailable(f"deleting the manifest {key} failed: {status} {errors[:3]}")

    async def expect_manifests(self, container: str) -> None:
        # Marked when the upload starts, not only when it completes: other replicas then see the mark
        # (their cached "unmarked" expires) before the manifest exists, unless it completes within TTL.
        await self._mark_manifests(container)

    async def _mark_manifests(self, container: str) -> None:
        """Before a manifest is written into `container`: mark it as one that may hold manifests."""
        if self._states.marked(container):
            return
        await self._call("POST", container, headers={MANIFESTS_MARK: "1"}, kind="container")
        self._states.put_manifests(container, True)

    async def copy_object(self, src_container: str, src_key: str, dst_container: str, dst_key: str, *,
                          src_version_id: str | None = None, content_type: str | None = None,
                          metadata: Mapping[str, str] | None = None, private: Mapping[str, str] | None = None,
                          headers: Mapping[str, str] | None = None) -> ObjectInfo:
        if src_version_id == NULL_VERSION:
            src_version_id = await self._null_id(src_container, src_key)
        src = await self._head(src_container, src_key, src_version_id)
        want_meta = dict(src.metadata if metadata is None else metadata)
        want_private = dict(src.private if private is None else private)
        want_headers = dict(src.headers if headers is None else standard(headers))
        want_type = content_type or src.content_type
        null = await self._writes_null(dst_container)
        hdrs = object_headers(want_type, want_meta, want_private, want_headers, null=null)
        same = (src_container, src_key) == (dst_container, dst_key)
        if same and src.manifest and src_version_id in (None, NULL_VERSION, src.version_id):
            # Copying a segmented object onto itself would concatenate it into one new object and orphan
            # its segments: update its metadata in place instead.
            await self._call("POST", dst_container, dst_key, headers=hdrs)
            return await self.head_object(dst_container, dst_key)
        query: dict[str, str] = {}
        if src_version_id:
            query["version-id"] = src_version_id
        hdrs["Destination"] = f"/{quote_container(dst_container)}/{quote_object(dst_key)}"
        hdrs["X-Fresh-Metadata"] = "true"
        reply = await self._call("COPY", src_container, src_key, query=query, headers=hdrs,
                                 kind="version" if src_version_id else "object", idempotent=True)
        self._observe(dst_container, reply)
        return ObjectInfo(key=dst_key, size=src.size, etag=etag_of(reply.headers.get("Etag")) or src.etag,
                          last_modified=from_http_date(reply.headers.get("Last-Modified")) or now(),
                          content_type=want_type, metadata=want_meta, private=want_private,
                          headers=want_headers, version_id=None if null else _version_out(reply.headers))

    async def list_objects(self, container: str, *, prefix: str = "", delimiter: str | None = None,
                           marker: str | None = None, version_marker: str | None = None, limit: int = 1000,
                           versions: bool = False) -> Listing:
        if limit < 0:
            raise base.InvalidInput("limit must not be negative")
        query: dict[str, str] = {"format": "json", "limit": str(min(limit, 9999) + 1)}
        if prefix:
            query["prefix"] = prefix
        if delimiter:
            query["delimiter"] = delimiter
        if marker:
            query["marker"] = marker
        if versions:
            query["versions"] = ""
            if version_marker == NULL_VERSION and marker:
                version_marker = await self._find_null(container, marker) or NULL_VERSION
            if version_marker:
                query["version_marker"] = version_marker
        if limit == 0:  # nothing asked for: only say whether there is anything
            query["limit"] = "1"
        reply = await self._call("GET", container, query=query, kind="container")
        page = json.loads(reply.body) if reply.body else []
        truncated = len(page) > limit
        page = page[:limit]
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        for entry in page:
            if "subdir" in entry:
                prefixes.append(entry["subdir"])
            else:
                objects.append(listing_entry(entry, versions))
        last = page[-1] if page else None
        next_marker = (last.get("subdir") or last.get("name")) if truncated and last else None
        return Listing(objects=objects, prefixes=prefixes, truncated=truncated, next_marker=next_marker)

    async def put_manifest(self, container: str, key: str, segments: list[Segment], *,
                           content_type: str | None = None, metadata: Mapping[str, str] | None = None,
                           private: Mapping[str, str] | None = None,
                           headers: Mapping[str, str] | None = None) -> ObjectInfo:
        if not segments:
            raise base.InvalidInput("a manifest needs at least one segment")
        entries = [{"path": f"/{s.container}/{s.key}", "etag": s.etag, "size_bytes": s.size}
                   for s in segments]
        if len(entries) > MAX_SEGMENTS:
            entries = await self._sub_manifests(container, key, segments)
        null = await self._writes_null(container)
        await self._mark_manifests(container)
        hdrs = object_headers(content_type, metadata, private, headers, null=null)
        reply = await self._call("PUT", container, key, query={"multipart-manifest": "put"}, headers=hdrs,
                                 data=json.dumps(entries).encode(), kind="container")
        self._observe(container, reply)
        return ObjectInfo(key=key, size=sum(s.size for s in segments), etag=etag_of(reply.headers.get("Etag")),
                          last_modified=from_http_date(reply.headers.get("Last-Modified")) or now(),
                          content_type=content_type or DEFAULT_TYPE, metadata=dict(metadata or {}),
                          private=dict(private or {}), headers=standard(headers),
                          version_id=None if null else _version_out(reply.headers), manifest=True)

    async def _sub_manifests(self, container: str, key: str, segments: list[Segment]) -> list[dict]:
        """Manifests of ≤1000 segments each, stored beside the first segment; the entries pointing at them."""
        where = segments[0].container
        base_name = f"{container}/{key}/.cloudgate-slo/{uuid.uuid4().hex}"
        await self._mark_manifests(where)
        out = []
        for n, start in enumerate(range(0, len(segments), MAX_SEGMENTS)):
            group = segments[start:start + MAX_SEGMENTS]
            body = json.dumps([{"path": f"/{s.container}/{s.key}", "etag": s.etag, "size_bytes": s.size}
                               for s in group]).encode()
            name = f"{base_name}/{n:05d}"
            reply = await self._call("PUT", where, name, query={"multipart-manifest": "put"}, data=body,
                                     kind="container")
            out.append({"path": f"/{where}/{name}", "etag": etag_of(reply.headers.get("Etag")),
                        "size_bytes": sum(s.size for s in group)})
        return out


def _version_out(headers: Mapping[str, str]) -> str | None:
    version = headers.get("X-Object-Version-Id")
    return None if version == NULL_VERSION else version


# ---- the backend ------------------------------------------------------------------------------------------
def open_client(timeout: float, connect_timeout: float) -> tuple[aiohttp.ClientSession, SwiftClient]:
    """One pooled session for every caller's Swift requests (bodies stream as they are: no decompression)."""
    connector = aiohttp.TCPConnector(limit=SWIFT_POOL_SIZE, limit_per_host=SWIFT_POOL_SIZE,
                                   keepalive_timeout=KEEPALIVE_SECONDS, enable_cleanup_closed=True)
    session = aiohttp.ClientSession(connector=connector, auto_decompress=False, read_bufsize=CHUNK * 2)
    return session, SwiftClient(session, timeout=timeout, connect_timeout=connect_timeout)


class SwiftBackend(base.Backend):
    """A Swift cluster reached with tempauth v1 credentials held per gateway user in config."""

    name = "swift"

    def __init__(self, auth_url: str, *, timeout: float = 30.0, connect_timeout: float = 5.0,
                 cache_seconds: float = CACHE_SECONDS) -> None:
        self.auth_url = auth_url
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.cache_seconds = cache_seconds
        self._session: aiohttp.ClientSession | None = None
        self._client: SwiftClient | None = None
        # Per Swift account: its token, and what its containers are like (shared by its requests).
        self._auth: dict[tuple[str, str], tuple[TokenSource, ContainerStates]] = {}

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SwiftBackend:
        for name in options:
            if name not in OPTIONS:
                raise ValueError(f"unknown option {name} (known: {', '.join(sorted(OPTIONS))})")
        url = options.get("auth_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("auth_url: required, an http(s) URL of the tempauth v1 endpoint")
        kw = {}
        for name in ("timeout", "connect_timeout"):
            if name in options:
                value = options[name]
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise ValueError(f"{name}: must be a positive number of seconds, got {value!r}")
                kw[name] = float(value)
        if "cache_seconds" in options:
            value = options["cache_seconds"]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 60:
                raise ValueError(f"cache_seconds: must be a number of seconds from 0 (off) to 60, got {value!r}")
            kw["cache_seconds"] = float(value)
        return cls(url, **kw)

    async def start(self) -> None:
        if self._session is None:
            self._session, self._client = open_client(self.timeout, self.connect_timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = self._client = None
        self._auth.clear()

    async def object_store(self, principal: Any) -> SwiftObjectStore:
        attrs = getattr(principal, "attributes", None) or {}
        creds = attrs.get("backend") or {}
        user, key = creds.get("swift_user"), creds.get("swift_key")
        if not user or not key:
            raise base.Forbidden("this identity has no Swift credentials (backend.swift_user/swift_key)")
        await self.start()
        assert self._client is not None
        account = self._auth.get((user, key))
        if account is None:
            account = self._auth[(user, key)] = (TempAuth(self.auth_url, user, key),
                                                 ContainerStates(self.cache_seconds))
        return SwiftObjectStore(self._client, *account)
