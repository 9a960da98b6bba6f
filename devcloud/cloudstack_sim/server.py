"""The simulator's HTTP side: CloudStack's `/client/api` on 127.0.0.1, with the real server's behaviour —
signature check (signatureversion 3 + expires), parameters checked against a real listApis dump, async
jobs that take time and can fail or never finish, the error envelope and codes, paging.

    sim = Simulator(SimConfig(job_delay=0.05))
    await sim.start()          # sim.endpoint = http://127.0.0.1:<port>/client/api
    sim.fail_next("attachVolume", 530, "Failed to attach volume")   # the next such job fails
    sim.hang_next("stopVirtualMachine")                               # the next such job never ends
    await sim.stop()

`sim.violations` lists every request that used a parameter listApis does not declare for the command or
left out a required one (a required one missing is also refused with 431, as CloudStack does).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from backends.cloudstack import signing

from . import cmd_compute, cmd_network, cmd_storage, cmd_vpc, core  # noqa: F401 - the cmd_* register commands
from .core import Account, CsError, Handler, Job, Record, World, new_id, now, public, seed

LOG = logging.getLogger("cloudgate.cloudstack.simulator")

# Parameters every command takes (they are not in listApis' per-command lists).
GLOBAL_PARAMS = frozenset({"command", "apikey", "signature", "response", "signatureversion", "expires",
                           "sessionkey", "_"})
DEFAULT_APIS = Path(__file__).resolve().parents[3] / "shared" / "contracts" / "cloudstack" / "listApis.json"
DEFAULT_ACCOUNTS = {"a": ("CSSIM-TENANT-A-APIKEY", "cs-sim-secret-a"),
                    "b": ("CSSIM-TENANT-B-APIKEY", "cs-sim-secret-b")}
DEFAULT_ADMIN = ("CSSIM-ADMIN-APIKEY", "cs-sim-secret-admin")
# The simulator's service offerings under the EC2 instance types clients ask for (a gateway config's
# `instance_types` in front of it; config/cloudstack-sim.example.yaml names the same).
INSTANCE_TYPES = {"t2.micro": "Tiny", "m1.small": "Small Instance", "m1.medium": "Medium Instance",
                  "m1.large": "Large Instance"}

# the cmd_* modules register their commands in core.COMMANDS; queryAsyncJobResult is answered here
COMMANDS: dict[str, Handler] = {**core.COMMANDS, "queryAsyncJobResult": lambda world, account, params: {}}


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = a free port
    job_delay: float = 0.2  # seconds an async job takes
    accounts: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(DEFAULT_ACCOUNTS))
    admin: tuple[str, str] = DEFAULT_ADMIN
    apis_path: str | None = None  # listApis.json to check parameters against (None = the shared contract)


@dataclass
class _JobState:
    id: str
    command: str
    account: Account
    instance_type: str
    instance_id: str | None
    created: str
    status: int = 0
    result: Record = field(default_factory=dict)
    resultcode: int = 0
    task: asyncio.Task | None = None


def load_apis(path: str | Path | None) -> dict[str, Record] | None:
    p = Path(path) if path else DEFAULT_APIS
    if not p.is_file():
        return None
    return {a["name"]: a for a in json.loads(p.read_text())["api"]}


class Simulator:
    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.world = seed(World(), self.config.accounts, self.config.admin)
        self.apis = load_apis(self.config.apis_path)
        self.violations: list[str] = []
        self.calls: list[tuple[str, dict[str, str]]] = []  # (command, params without credentials)
        self.jobs: dict[str, _JobState] = {}
        self._failures: dict[str, list[CsError]] = {}
        self._hangs: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self.endpoint = ""

    # -- control (tests) ---------------------------------------------------------------------------------
    def fail_next(self, command: str, errorcode: int = 530, text: str = "Internal error executing command",
                  cserrorcode: int | None = 4250) -> None:
        self._failures.setdefault(command, []).append(CsError(errorcode, text, cserrorcode))

    def hang_next(self, command: str) -> None:
        self._hangs[command] = self._hangs.get(command, 0) + 1

    def keys(self, account: str) -> tuple[str, str]:
        a = self.world.accounts[account]
        return a.api_key, a.secret_key

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/client/api", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.endpoint = f"http://{self.config.host}:{port}/client/api"
        return self.endpoint

    async def stop(self) -> None:
        for job in self.jobs.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- requests ------------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        params: dict[str, str] = dict(request.query)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        command = params.get("command", "")
        key = f"{command.lower()}response"
        try:
            account = self._authenticate(params)
            self._check_params(command, params)
            self.calls.append((command, {k: v for k, v in params.items()
                                         if k not in ("apikey", "signature", "expires")}))
            body = self._dispatch(command, account, params)
            return web.json_response({key: body})
        except CsError as e:
            body = {"uuidList": [], "errorcode": e.errorcode, "errortext": e.text}
            if e.cserrorcode is not None:
                body["cserrorcode"] = e.cserrorcode
            return web.json_response({key: body}, status=e.errorcode)

    def _authenticate(self, params: dict[str, str]) -> Account:
        refused = CsError(401, "unable to verify user credentials and/or request signature", None)
        account = self.world.by_key(params.get("apikey", ""))
        if account is None or account.state != "enabled" or not signing.verify(params, account.secret_key):
            raise refused
        if params.get("signatureversion") == "3":
            expires = signing.parse_expires(params.get("expires", ""))
            if expires is None or expires < dt.datetime.now(dt.UTC):
                raise refused
        return account

    def _check_params(self, command: str, params: dict[str, str]) -> None:
        if command not in COMMANDS or (self.apis is not None and command not in self.apis):
            raise CsError(432, "The given command does not exist or it is not available for the user", 9999)
        if self.apis is None:
            return
        declared = {p["name"].lower(): p for p in self.apis[command]["params"]}
        names = {k.split("[", 1)[0].lower() for k in params}
        for name in sorted(names - declared.keys() - GLOBAL_PARAMS):
            self.violations.append(f"{command}: parameter {name} is not declared by listApis")
        for name, p in declared.items():
            if p.get("required") and name not in names:
                self.violations.append(f"{command}: required parameter {name} missing")
                raise CsError(431, f"Unable to execute API command {command.lower()} due to missing "
                                   f"parameter {name}", 4350)

    def _dispatch(self, command: str, account: Account, params: dict[str, str]) -> Record:
        if command == "queryAsyncJobResult":
            return self._job_result(account, params.get("jobid", ""))
        answer = COMMANDS[command](self.world, account, params)
        if not isinstance(answer, Job):
            if self.apis is not None and self.apis[command]["isasync"]:
                self.violations.append(f"{command}: listApis says async, the simulator answered sync")
            return public(answer)
        if self.apis is not None and not self.apis[command]["isasync"]:
            self.violations.append(f"{command}: listApis says sync, the simulator started a job")
        job = _JobState(new_id(), command, account, answer.instance_type, answer.instance_id, now())
        self.jobs[job.id] = job
        job.task = asyncio.get_running_loop().create_task(self._run_job(job, answer))
        return {**answer.immediate, "jobid": job.id}

    async def _run_job(self, job: _JobState, spec: Job) -> None:
        if self._hangs.get(job.command):
            self._hangs[job.command] -= 1
            return  # never finishes: jobstatus stays 0
        await asyncio.sleep(self.config.job_delay)
        failures = self._failures.get(job.command)
        try:
            if failures:
                raise failures.pop(0)
            result = spec.work()
            job.status, job.result = 1, {k: public(v) if isinstance(v, dict) else v for k, v in result.items()}
        except CsError as e:
            if spec.on_fail is not None:
                spec.on_fail()
            job.status, job.resultcode = 2, e.errorcode
            job.result = {"errorcode": e.errorcode, "errortext": e.text}
            if e.cserrorcode is not None:
                job.result["cserrorcode"] = e.cserrorcode

    def _job_result(self, account: Account, jobid: str) -> Record:
        job = self.jobs.get(jobid)
        if job is None or (job.account is not account and not account.admin):
            raise CsError(431, f"Unable to execute API command queryasyncjobresult due to invalid value. "
                               f"Invalid parameter jobid value={jobid} due to incorrect long value format, or "
                               "entity does not exist or due to incorrect parameter annotation for the field in "
                               "api cmd class.", 9999)
        out: Record = {"accountid": job.account.id, "userid": job.account.user_id,
                       "cmd": f"org.apache.cloudstack.api.command.user.{job.command}Cmd",
                       "jobstatus": job.status, "jobprocstatus": 0, "jobresultcode": job.resultcode,
                       "jobresulttype": "object", "jobid": job.id, "created": job.created}
        if job.instance_id:
            out["jobinstancetype"], out["jobinstanceid"] = job.instance_type, job.instance_id
        if job.status:
            out["jobresult"] = job.result
            out["completed"] = now()
        return out


@contextlib.contextmanager
def running(config: SimConfig | None = None) -> Iterator[Simulator]:
    """The simulator on its own event loop in a daemon thread, apart from the gateway's loop as a real cloud
    would be; yields it started (`sim.endpoint` set) and always stops it."""
    sim = Simulator(config)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(sim.start())
    thread = threading.Thread(target=loop.run_forever, name="cloudstack-sim", daemon=True)
    thread.start()
    try:
        yield sim
    finally:
        asyncio.run_coroutine_threadsafe(sim.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
