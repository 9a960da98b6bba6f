#!/usr/bin/env bash
# A real single-node OpenStack 2026.1 on 127.0.0.1 for cloudgate: Keystone, Glance (file store),
# Placement, Nova (fake virt driver), Neutron (ML2, agentless port binding), Cinder (fake volume driver),
# Swift (keystoneauth, one account per project), with private MariaDB and RabbitMQ instances from Debian's
# packages. No data plane: API state, IPs,
# ports, floating IPs, security groups and volume attachments are real; guests are not.
#
#   bash devcloud/openstack.sh up       # install (once), configure, start, bootstrap, smoke-check;
#                                       # reuses whatever is installed and running (seconds when warm)
#   bash devcloud/openstack.sh status   # one line per service, exit 0 when all are up
#   bash devcloud/openstack.sh env      # (re)writes .devcloud/openstack.json and prints the summary
#   bash devcloud/openstack.sh down     # stops (by pid file, per process group) what `up` started
#   bash devcloud/openstack.sh wipe     # down + delete all state (databases included); venv is kept
#
# Options (environment): OPENSTACK_SMOKE=auto|full|0 (see smoke() below).
# State: .devcloud/openstack/ (config, data, logs, pid files), venv: .devcloud/openstack-venv,
# credentials: .devcloud/openstack.json. See devcloud/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$ROOT/devcloud/openstack
STATE=${OPENSTACK_STATE_DIR:-$ROOT/.devcloud/openstack}
VENV=${OPENSTACK_VENV:-$ROOT/.devcloud/openstack-venv}
JSON=${OPENSTACK_JSON:-$ROOT/.devcloud/openstack.json}
ETC=$STATE/etc; DATA=$STATE/data; LOG=$STATE/log; RUN=$STATE/run; STAMPS=$STATE/stamps
export PATH=$VENV/bin:$PATH STATE VENV JSON

# shellcheck source=openstack/common.sh
. "$HERE/common.sh"
# shellcheck source=openstack/install.sh
. "$HERE/install.sh"
# shellcheck source=openstack/infra.sh
. "$HERE/infra.sh"
# shellcheck source=openstack/services.sh
. "$HERE/services.sh"

# Passwords: random, made once per state directory (the cloud is loopback-only and test-only, but
# fixed well-known passwords would leak into every log and copy-paste). bootstrap.py reads them too.
secrets() {
  local f=$STATE/secrets.env name
  touch "$f"; chmod 600 "$f"
  for name in DB_PW RABBIT_PW ADMIN_PW SERVICE_PW GATEWAY_PW TENANT_A_PW TENANT_B_PW SMOKE_PW SUITE_PW BENCH_PW; do
    grep -q "^$name=" "$f" || echo "$name=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" >> "$f"
  done
  # Cinder's fixed volume-encryption key (ConfKeyManager, see cinder_up): 256 bits, made once and never
  # changed, as every encrypted volume of this state directory uses it
  grep -q '^VOLUME_KEY=' "$f" || echo "VOLUME_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" >> "$f"
  set -a; . "$f"; set +a
  TRANSPORT_URL=rabbit://openstack:$RABBIT_PW@127.0.0.1:5672/
}

# Every listener of a process we started must be on loopback. Others are listed, not judged.
check_loopback() {
  step "listeners on loopback only"
  local pg bad=0 foreign=() line addr pid ours
  ours=" $(our_pgids | tr '\n' ' ') "
  while read -r line; do
    addr=$(awk '{print $5}' <<< "$line")
    case $addr in 127.*|'[::1]':*|'[::ffff:127.'*) continue ;; esac
    pid=$(grep -o 'pid=[0-9]*' <<< "$line" | head -n1 | cut -d= -f2 || true)
    pg=$([ -n "$pid" ] && awk '{print $5}' "/proc/$pid/stat" 2>/dev/null || true)
    if [ -n "$pg" ] && [[ $ours == *" $pg "* ]]; then
      printf '\n[openstack] ERROR: non-loopback listener of ours: %s' "$line" >&2; bad=1
    else
      foreign+=("$addr")
    fi
  done < <(ss -ltunpH 2>/dev/null)
  [ "$bad" = 0 ] || die "a devcloud service listens beyond 127.0.0.1"
  if [ ${#foreign[@]} -gt 0 ]; then ok "ok (${#foreign[@]} other sockets, not ours: left alone)"; else ok; fi
}

usage_report() {
  local rss=0 pg kb
  for pg in $(our_pgids); do
    kb=$(ps -o rss= -g "$pg" 2>/dev/null | awk '{s += $1} END {print s + 0}')
    rss=$((rss + kb))
  done
  info "memory: $((rss / 1024)) MiB RSS over $(our_pgids | wc -l) process groups;" \
    "disk: state $(du -sh "$STATE" 2>/dev/null | cut -f1), venv $(du -sh "$VENV" 2>/dev/null | cut -f1)"
}

# Tenants, credentials, flavors, image, networks: made once per state directory (and again when
# bootstrap.py changes); `env` always re-checks them.
resources_up() {
  step "cloud resources + $(basename "$JSON")"
  local want; want=$(sha256sum "$HERE/bootstrap.py" | cut -c1-16)
  if stamp_ok resources "$want" && [ -f "$JSON" ]; then ok "present"; return; fi
  rm -f "$STAMPS/smoke"
  run_logged bootstrap "$VENV/bin/python" "$HERE/bootstrap.py" resources
  stamp_set resources "$want"
  ok "created"
}

# OPENSTACK_SMOKE=auto (default): the full smoke check after anything was started or created, else the
# light one (a cloud that passed and kept running); full: always the full one; 0: none.
smoke() {
  local mode=${OPENSTACK_SMOKE:-auto}
  [ "$mode" = 0 ] && return 0
  if [ "$mode" = auto ] && [ ${#LAUNCHED[@]} = 0 ] && [ -f "$STAMPS/smoke" ]; then
    info "light check (all was running; OPENSTACK_SMOKE=full for the full one):"
    "$VENV/bin/python" "$HERE/smoke.py" --light || { rm -f "$STAMPS/smoke"; die "light check failed (logs: $LOG)"; }
    return 0
  fi
  rm -f "$STAMPS/smoke"
  info "smoke check:"
  "$VENV/bin/python" "$HERE/smoke.py" || die "smoke check failed (logs: $LOG)"
  stamp_set smoke passed
}

up() {
  local t0; t0=$(now_us)
  LAUNCHED=()
  mkdir -p "$ETC" "$DATA" "$LOG" "$RUN" "$STAMPS"
  install_packages
  install_venv
  secrets
  mariadb_up
  rabbit_up
  keystone_up
  catalog_up
  glance_up
  placement_up
  neutron_up
  nova_up
  cinder_up
  swift_up
  apis_ready
  nova_map_host
  daemons_ready
  resources_up
  smoke
  check_loopback
  [ ${#LAUNCHED[@]} -gt 0 ] && info "started: ${LAUNCHED[*]}"
  "$VENV/bin/python" "$HERE/bootstrap.py" summary
  usage_report
  info "up in $(since "$t0")s"
}

status() {
  local entry name port rc=0 d
  for d in mariadb rabbitmq; do
    if alive "$d"; then echo "[openstack] $d: up"; else echo "[openstack] $d: down"; rc=1; fi
  done
  for entry in "${APIS[@]}"; do
    name=${entry%%:*}; port=${entry##*:}
    if alive "$name" && http_up "http://127.0.0.1:$port/"; then
      echo "[openstack] $name: up (http://127.0.0.1:$port)"
    else
      echo "[openstack] $name: down"; rc=1
    fi
  done
  for d in "${DAEMONS[@]}"; do
    if alive "$d"; then echo "[openstack] $d: up"; else echo "[openstack] $d: down"; rc=1; fi
  done
  if swift_sh status >/dev/null 2>&1; then echo "[openstack] swift: up (http://127.0.0.1:$SWIFT_PORT)"
  else echo "[openstack] swift: down"; rc=1; fi
  [ -f "$JSON" ] && echo "[openstack] credentials: $JSON"
  return $rc
}

down() {
  local t0 name entry names=(); t0=$(now_us)
  mkdir -p "$RUN"
  # the OpenStack processes all at once, then the message bus and the database they all use
  for name in "${DAEMONS[@]}" "${APIS[@]%%:*}"; do alive "$name" && names+=("$name"); done
  step "stop openstack services"
  if [ ${#names[@]} -gt 0 ]; then stop_daemons 15 "${names[@]}"; ok "stopped ${#names[@]}"; else ok "none running"; fi
  step "stop swift"; swift_sh down >/dev/null 2>&1 || true; ok
  step "stop rabbitmq"; if alive rabbitmq; then rabbit_stop; ok stopped; else ok "not running"; fi
  step "stop epmd"; if alive epmd; then stop_daemon epmd 5; ok stopped; else ok "not ours / not running"; fi
  step "stop mariadb"; if alive mariadb; then stop_daemon mariadb 60; ok stopped; else ok "not running"; fi
  info "down in $(since "$t0")s"
}

# One `up`/`down` at a time: parallel test sessions may all call `up`; only the first builds and starts.
lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 900 9 || die "another devcloud/openstack.sh holds $STATE/.lock for over 900 s"
}

case "${1:-}" in
  up) lock; up ;;
  status) status ;;
  env) secrets; alive keystone || die "the cloud is not running: bash devcloud/openstack.sh up"
       "$VENV/bin/python" "$HERE/bootstrap.py" resources && "$VENV/bin/python" "$HERE/bootstrap.py" summary ;;
  down) lock; down ;;
  wipe) lock; down; rm -rf "${STATE:?}" "$JSON"; info "wiped $STATE and $JSON (venv kept: $VENV)" ;;
  *) echo "usage: $0 up|status|env|down|wipe" >&2; exit 2 ;;
esac
