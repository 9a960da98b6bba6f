#!/usr/bin/env bash
# A Swift all-in-one on 127.0.0.1 for `make run`, the tests and the benchmarks.
#
#   bash devcloud/swift.sh up       # install (once), configure, start; reuses what is already running
#   bash devcloud/swift.sh status   # prints the endpoint and exits 0 when the proxy answers, 1 otherwise
#   bash devcloud/swift.sh down     # stops (by recorded PID) what `up` started
#   bash devcloud/swift.sh wipe     # down + delete all stored data and rings (next `up` starts clean)
#
# Swift comes from PyPI into its own venv (.devcloud/swift-venv: eventlet must not leak into the project
# venv), memcached from Debian (tempauth keeps its tokens there). State lives under .devcloud/swift/.
# Proxy pipeline = Swift's SAIO pipeline: tempauth with two accounts (test:tester/testing and
# test2:tester2/testing2), slo, dlo, copy, bulk, symlink, object versioning, and s3api (only as the
# "Swift's own S3" baseline for compat-tests; cloudgate itself speaks Swift's native API).
# swift.conf keeps Swift's default constraints: cloudgate must work with a stock Swift.
#
# Environment: SWIFT_PROXY_PORT (default 18080); the account/container/object servers and memcached use
# the four ports above it. SWIFT_VERSION pins the PyPI release.
#
# SWIFT_AUTH=keystone is the devcloud OpenStack's object store (devcloud/openstack.sh runs it): Keystone
# authtoken + keystoneauth instead of tempauth, one account per project (AUTH_<project_id>), Swift
# installed into the OpenStack venv (SWIFT_VENV) under its upper-constraints; the service user's
# credentials come from SWIFT_KEYSTONE_URL / _USER / _PASSWORD in the environment.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Physical paths: processes are recognised by their state dir in their command line, so a checkout that
# reaches the same state through a symlink (a git worktree sharing .devcloud) must name it the same way.
STATE=$(realpath -m "${SWIFT_STATE_DIR:-$ROOT/.devcloud/swift}")
VENV=$(realpath -m "${SWIFT_VENV:-$ROOT/.devcloud/swift-venv}")
SWIFT_VERSION=${SWIFT_VERSION:-2.38.3}
PROXY_PORT=${SWIFT_PROXY_PORT:-18080}
ACCT_PORT=$((PROXY_PORT + 1)); CONT_PORT=$((PROXY_PORT + 2)); OBJ_PORT=$((PROXY_PORT + 3))
MC_PORT=$((PROXY_PORT + 4))
ETC=$STATE/etc; RUN=$STATE/run; LOG=$STATE/log; DEVICES=$STATE/srv
AUTH=${SWIFT_AUTH:-tempauth}
case $AUTH in tempauth|keystone) ;; *) echo "SWIFT_AUTH must be tempauth or keystone" >&2; exit 2 ;; esac
ENDPOINT=http://127.0.0.1:$PROXY_PORT
SERVERS=(account container object proxy)

# ---- output -------------------------------------------------------------------------------------------
now() { local t=${EPOCHREALTIME/[.,]/}; echo "${t:0:-3}"; }  # milliseconds, no subprocess
T0=$(now)
step_start=""
step() { step_start=$(now); printf '[swift] %-44s' "$1"; }
die() { printf '\n[swift] ERROR: %s\n' "$*" >&2; exit 1; }
elapsed() { local ms=$(( $(now) - $1 )); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }
ok() { printf ' %s (%ss)\n' "${1:-ok}" "$(elapsed "$step_start")"; }

# ---- processes ----------------------------------------------------------------------------------------
# A recorded PID counts only while it is alive AND still runs our program (PIDs get reused): a Swift server
# is recognised by our state dir in its command line, memcached by our port.
alive() {  # $1 = name
  local f=$RUN/$1.pid pid want=$STATE
  [ "$1" = memcached ] && want="memcached .*-p $MC_PORT "
  [ -f "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$want"
}

gone() {  # $1 = pid: exited (a zombie nobody reaped counts as exited)
  [ -d "/proc/$1" ] || return 0
  [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

stop_all() {  # $@ = names: SIGTERM them all at once, wait up to 10 s, then SIGKILL what is left
  local s pids=() pid i
  for s in "$@"; do
    if alive "$s"; then pid=$(cat "$RUN/$s.pid"); kill "$pid" 2>/dev/null || true; pids+=("$pid"); fi
    rm -f "$RUN/$s.pid"
  done
  for i in $(seq 1 100); do
    local left=0
    for pid in "${pids[@]}"; do gone "$pid" || left=1; done
    [ $left = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do gone "$pid" || kill -9 "$pid" 2>/dev/null || true; done
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

healthy() {  # the proxy answers and tempauth (memcache) issues tokens for both accounts
  if [ "$AUTH" = keystone ]; then  # Keystone's tokens are checked by the cloud's own smoke test
    "$VENV/bin/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/healthcheck', timeout=2)" \
      "$ENDPOINT" >/dev/null 2>&1
    return
  fi
  "$VENV/bin/python" - "$ENDPOINT" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
ep = sys.argv[1]
urllib.request.urlopen(ep + "/healthcheck", timeout=2).read()
for user, key in (("test:tester", "testing"), ("test2:tester2", "testing2")):
    req = urllib.request.Request(ep + "/auth/v1.0", headers={"X-Storage-User": user, "X-Storage-Pass": key})
    with urllib.request.urlopen(req, timeout=2) as r:
        token, url = r.headers["X-Auth-Token"], r.headers["X-Storage-Url"]
    # the account must answer too (account_autocreate creates it on first PUT, HEAD may be 204 or 404)
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD", headers={"X-Auth-Token": token}),
                               timeout=2)
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
EOF
}

config_sum() { cat "$ETC"/*.conf "$ETC"/*.ring.gz 2>/dev/null | cksum; }

all_alive() { local s; for s in memcached "${SERVERS[@]}"; do alive "$s" || return 1; done; }

# ---- install --------------------------------------------------------------------------------------------
install_packages() {
  step "system packages (memcached)"
  if command -v memcached >/dev/null 2>&1; then ok "present"; return; fi
  [ "$(id -u)" = 0 ] || die "memcached is missing: apt-get install memcached (needs root)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >"$LOG/apt.log" 2>&1 || die "apt-get update failed (see $LOG/apt.log)"
  apt-get install -y -q memcached >>"$LOG/apt.log" 2>&1 || die "apt-get install memcached failed (see $LOG/apt.log)"
  # Debian starts its own memcached on 11211; ours runs on $MC_PORT, theirs is not our business.
  ok "installed"
}

install_swift() {
  step "swift $SWIFT_VERSION venv"
  local stamp=$VENV/.swift-$SWIFT_VERSION
  if [ -f "$stamp" ] && [ -x "$VENV/bin/swift-proxy-server" ]; then ok "present"; return; fi
  if [ "$AUTH" = keystone ]; then  # into the OpenStack venv (keystonemiddleware is there), never rebuilt here
    [ -x "$VENV/bin/pip" ] || die "SWIFT_VENV=$VENV is not a venv (devcloud/openstack.sh builds it)"
    local uc=(); [ -f "$VENV/upper-constraints.txt" ] && uc=(-c "$VENV/upper-constraints.txt")
    "$VENV/bin/pip" install -q --disable-pip-version-check "${uc[@]}" "swift==$SWIFT_VERSION" >"$LOG/pip.log" 2>&1 \
      || die "pip install swift==$SWIFT_VERSION into $VENV failed (see $LOG/pip.log)"
    touch "$stamp"
    ok "installed into the OpenStack venv"
    return
  fi
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "swift==$SWIFT_VERSION" >"$LOG/pip.log" 2>&1 \
    || die "pip install swift==$SWIFT_VERSION failed (see $LOG/pip.log)"
  touch "$stamp"
  ok "installed"
}

# ---- configuration ------------------------------------------------------------------------------------
write_file() {  # $1 = path; content on stdin; only rewritten when it changed (keeps mtimes meaningful)
  local tmp; tmp=$(mktemp "$1.XXXX")
  cat > "$tmp"
  if [ -f "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; CHANGED=1; fi
}

server_conf() {  # $1 = kind, $2 = port, $3 = worker processes
  cat <<EOF
[DEFAULT]
devices = $DEVICES
mount_check = false
disable_fallocate = true
bind_ip = 127.0.0.1
bind_port = $2
workers = $3
swift_dir = $ETC
log_level = WARNING
$( [ "$(id -u)" = 0 ] && echo "user = root" || echo "user = $(id -un)" )

[pipeline:main]
pipeline = healthcheck $1-server

[app:$1-server]
use = egg:swift#$1

[filter:healthcheck]
use = egg:swift#healthcheck
EOF
}

# The proxy's auth: tempauth with two fixed accounts, or Keystone (authtoken validates the caller's token,
# keystoneauth maps its project onto AUTH_<project_id> and lets project members operate on it).
auth_pipeline() { if [ "$AUTH" = keystone ]; then echo "authtoken keystoneauth"; else echo "s3api tempauth"; fi; }
auth_filters() {
  if [ "$AUTH" = keystone ]; then
    cat <<EOF
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
auth_url = ${SWIFT_KEYSTONE_URL:?}
www_authenticate_uri = $SWIFT_KEYSTONE_URL
auth_type = password
user_domain_id = default
project_domain_id = default
project_name = service
username = ${SWIFT_KEYSTONE_USER:?}
password = ${SWIFT_KEYSTONE_PASSWORD:?}
delay_auth_decision = true

[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
reseller_prefix = AUTH_
# Keystone role with access to every account (keystoneauth's default, named here because cloudgate's service
# user holds it to act for a bucket's owner: devcloud/openstack/bootstrap.py RESELLER_ADMIN_ROLE)
reseller_admin_role = ResellerAdmin
EOF
    return
  fi
  cat <<EOF
[filter:tempauth]
use = egg:swift#tempauth
# user_<account>_<user> = <key> [groups]: two accounts, for tenant-isolation tests
user_test_tester = testing .admin
user_test2_tester2 = testing2 .admin
storage_url_scheme = default

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = yes
check_bucket_owner = yes
cors_preflight_allow_origin = *
EOF
}

proxy_conf() {
  cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PROXY_PORT
# Two worker processes each for the proxy and the object server: a worker busy hashing or syncing a big
# object must not stall every other request (with one, a loaded machine saw 10 s node timeouts).
workers = 2
swift_dir = $ETC
log_level = INFO
$( [ "$(id -u)" = 0 ] && echo "user = root" || echo "user = $(id -un)" )

[pipeline:main]
# Swift's SAIO pipeline; s3api must precede the auth middleware, slo/dlo/versioned_writes follow it.
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl ratelimit $(auth_pipeline) copy container-quotas account-quotas slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

$(auth_filters)

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MC_PORT

[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_versioned_writes = true
allow_object_versioning = true

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:tempurl]
use = egg:swift#tempurl
[filter:ratelimit]
use = egg:swift#ratelimit
[filter:copy]
use = egg:swift#copy
[filter:container-quotas]
use = egg:swift#container_quotas
[filter:account-quotas]
use = egg:swift#account_quotas
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:symlink]
use = egg:swift#symlink
EOF
}

configure() {
  step "configuration"
  CHANGED=0
  mkdir -p "$ETC" "$RUN" "$LOG" "$DEVICES/sdb1" "$STATE/cache"
  write_file "$ETC/swift.conf" <<EOF
[swift-hash]
swift_hash_path_prefix = cloudgate-devcloud
swift_hash_path_suffix = cloudgate-devcloud
[storage-policy:0]
name = Policy-0
default = yes
EOF
  server_conf account "$ACCT_PORT" 1 | write_file "$ETC/account-server.conf"
  server_conf container "$CONT_PORT" 1 | write_file "$ETC/container-server.conf"
  server_conf object "$OBJ_PORT" 2 | write_file "$ETC/object-server.conf"
  proxy_conf | write_file "$ETC/proxy-server.conf"
  [ "$CHANGED" = 1 ] && ok "written" || ok "unchanged"
}

check_xattrs() {
  step "filesystem xattrs"
  local probe=$DEVICES/sdb1/.xattr-probe
  "$VENV/bin/python" -c "
import os, sys
p = sys.argv[1]; open(p, 'w').close()
try:
    os.setxattr(p, 'user.swift.probe', b'1'); assert os.getxattr(p, 'user.swift.probe') == b'1'
finally:
    os.unlink(p)" "$probe" 2>"$LOG/xattr.log" \
    || die "$DEVICES does not support user xattrs (Swift stores metadata there): use ext4/xfs ($(cat "$LOG/xattr.log"))"
  ok
}

rings() {
  step "rings (1 replica)"
  # The rings name the storage ports: rebuild them (and drop data placed by the old ones) when ports change.
  local want="$ACCT_PORT $CONT_PORT $OBJ_PORT"
  if [ -f "$ETC/account.ring.gz" ] && [ -f "$ETC/container.ring.gz" ] && [ -f "$ETC/object.ring.gz" ] &&
     [ "$(cat "$ETC/rings.ports" 2>/dev/null)" = "$want" ]; then ok "present"; return; fi
  rm -f "$ETC/rings.ports"
  rm -rf "${DEVICES:?}/sdb1" "$ETC"/*.builder "$ETC"/*.ring.gz "$ETC/backups"
  mkdir -p "$DEVICES/sdb1"
  # One process for the three rings (swift-ring-builder would be nine): part power 10, 1 replica.
  "$VENV/bin/python" - "$ETC" "$ACCT_PORT" "$CONT_PORT" "$OBJ_PORT" >>"$LOG/rings.log" 2>&1 <<'EOF' \
    || die "building the rings failed (see $LOG/rings.log)"
import os, sys
from swift.common.ring import RingBuilder
etc, ports = sys.argv[1], dict(zip(("account", "container", "object"), map(int, sys.argv[2:5])))
for kind, port in ports.items():
    builder = RingBuilder(10, 1, 1)
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port, "device": "sdb1",
                     "weight": 1, "meta": ""})
    builder.rebalance()
    builder.save(os.path.join(etc, f"{kind}.builder"))
    builder.get_ring().save(os.path.join(etc, f"{kind}.ring.gz"))
    print(f"{kind} ring: 127.0.0.1:{port}/sdb1")
EOF
  echo "$want" > "$ETC/rings.ports"
  ok "built"
}

# ---- start / stop -------------------------------------------------------------------------------------
start() {
  step "servers on 127.0.0.1:$PROXY_PORT-$MC_PORT"
  # Servers count as up to date only when they were started from the configuration now on disk.
  if [ "$(config_sum)" = "$(cat "$RUN/config.sum" 2>/dev/null)" ] && all_alive && healthy; then
    ok "already running"; return
  fi
  # Anything half-up (a crashed server, a config change) is restarted as a whole.
  local s port
  stop_all proxy object container account memcached
  for port in $PROXY_PORT $ACCT_PORT $CONT_PORT $OBJ_PORT $MC_PORT; do
    port_busy "$port" && die "port $port is in use by another process (set SWIFT_PROXY_PORT to move the range)"
  done
  config_sum > "$RUN/config.sum"
  local mc_user=(); [ "$(id -u)" = 0 ] && mc_user=(-u root)
  # setsid: the servers outlive this script and the shell (or pytest) that ran it.
  setsid memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 64 "${mc_user[@]}" \
    >"$LOG/memcached.log" 2>&1 </dev/null 9>&- &
  echo $! > "$RUN/memcached.pid"
  for s in "${SERVERS[@]}"; do
    setsid "$VENV/bin/swift-$s-server" "$ETC/$s-server.conf" -v >"$LOG/$s.log" 2>&1 </dev/null 9>&- &
    echo $! > "$RUN/$s.pid"
  done
  local i
  for i in $(seq 1 150); do  # 30 s at most
    healthy && { ok "started"; return; }
    for s in "${SERVERS[@]}"; do
      alive "$s" || die "swift-$s-server exited; its log ($LOG/$s.log):
$(tail -n 20 "$LOG/$s.log")"
    done
    sleep 0.2
  done
  die "proxy not healthy within 30 s; proxy log:
$(tail -n 20 "$LOG/proxy.log")"
}

down() {
  step "stop servers"
  local s running=()
  for s in proxy object container account memcached; do alive "$s" && running+=("$s"); done
  stop_all proxy object container account memcached
  ok "${running[*]:-nothing was running}${running[*]:+ stopped}"
}

status() {
  if all_alive && healthy; then
    echo "[swift] up: auth $ENDPOINT/auth/v1.0 (test:tester/testing, test2:tester2/testing2)"
    return 0
  fi
  local s
  for s in memcached "${SERVERS[@]}"; do alive "$s" && echo "[swift] $s running" || echo "[swift] $s down"; done
  return 1
}

up() {
  mkdir -p "$LOG" "$RUN"
  install_packages
  install_swift
  configure
  check_xattrs
  rings
  start
  echo "[swift] up in $(elapsed "$T0")s: auth $ENDPOINT/auth/v1.0 (users test:tester/testing, test2:tester2/testing2)"
  echo "[swift] endpoint $ENDPOINT"
}

# One `up`/`down` at a time: parallel test sessions all call `up`, and only the first may build and start.
lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 300 9 || die "another devcloud/swift.sh holds $STATE/.lock for over 300 s"
}

case "${1:-}" in
  up) lock; up ;;
  status) status ;;
  down) lock; mkdir -p "$RUN"; down ;;
  wipe) lock; mkdir -p "$RUN"; down; rm -rf "${STATE:?}"; echo "[swift] wiped $STATE" ;;
  *) echo "usage: $0 up|status|down|wipe" >&2; exit 2 ;;
esac
