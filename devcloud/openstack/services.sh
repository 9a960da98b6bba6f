# shellcheck shell=bash
# The OpenStack services: one function per service writes its configuration, syncs its schema once
# (stamped) and launches its processes. APIs run under uWSGI, the rest as plain daemons; each is its own
# process group with a pid file under $RUN. Sourced by devcloud/openstack.sh.

KS_URL=http://127.0.0.1:5000
# name:port of every HTTP API, in start order (status and the readiness wait read this)
APIS=(keystone:5000 glance:9292 placement:8778 neutron:9696 nova-api:8774 cinder-api:8776)
DAEMONS=(nova-conductor nova-scheduler nova-compute cinder-scheduler cinder-volume)
HOST=devcloud   # the service host name Nova/Cinder/Neutron record; see "Stale state" in README

# What a schema sync was done for: the installed release (the venv's stamp names every pinned version).
ver() { echo "$1 $(cut -d'|' -f1 < "$VENV/.devcloud-stamp" | cksum | cut -d' ' -f1)"; }

# [keystone_authtoken] and every "talk to another service as user X" section look the same.
ks_auth() {  # $1 = service user
  cat <<EOF
auth_url = $KS_URL
www_authenticate_uri = $KS_URL
auth_type = password
user_domain_name = Default
project_domain_name = Default
project_name = service
username = $1
password = $SERVICE_PW
region_name = RegionOne
EOF
}

# A uWSGI app: foreground master under setsid (so its workers share our process group), loopback only.
# "Connection: close": uWSGI's http-socket does not do keep-alive well and clients would hang on a
# reused connection.
uwsgi_ini() {  # $1 = name, $2 = port, $3 = module, $4 = processes, rest = "env = ..." / "pyargv = ..." lines
  local name=$1 port=$2 module=$3 procs=$4; shift 4
  cat <<EOF
[uwsgi]
http-socket = 127.0.0.1:$port
module = $module
virtualenv = $VENV
master = true
processes = $procs
threads = 1
enable-threads = true
lazy-apps = true
need-app = true
die-on-term = true
buffer-size = 65535
add-header = Connection: close
disable-logging = true
procname-prefix-spaced = devcloud-$name
EOF
  printf '%s\n' "$@"
}

# Launches (or keeps) one process: one that runs with the current configuration and code is kept.
launch() {  # $1 = name, $2 = its configuration directory under $ETC, rest = command
  local name=$1 digest; digest=$(digest_of "$ETC/$2"/* "$ETC/uwsgi/$1.ini"); shift 2
  running_with "$name" "$digest" && return 0
  stop_daemon "$name" 20
  LAUNCHED+=("$name")
  date -u +'%F %T' > "$RUN/$name.started"   # UTC, as OpenStack stores service heartbeats
  start_daemon "$name" "$@"
  record_digest "$name" "$digest"
}
launch_api() {  # $1 = name, $2 = port, $3 = configuration directory
  if ! running_with "$1" "$(digest_of "$ETC/$3"/* "$ETC/uwsgi/$1.ini")"; then
    stop_daemon "$1" 20
    # a stopped server's socket can linger a moment; anything longer is someone else's server
    wait_until 15 "" port_free "$2" || die "port $2 ($1) is taken by a process devcloud did not start"
  fi
  launch "$1" "$3" "$VENV/bin/uwsgi" --ini "$ETC/uwsgi/$1.ini"
}

# ---- Keystone ---------------------------------------------------------------------------------------
keystone_up() {
  step "keystone"
  write_file "$ETC/keystone/keystone.conf" <<EOF
[database]
connection = $(dburl keystone)
[token]
provider = fernet
[fernet_tokens]
key_repository = $DATA/keystone/fernet-keys
[fernet_receipts]
key_repository = $DATA/keystone/fernet-keys
[credential]
key_repository = $DATA/keystone/credential-keys
[identity]
# bcrypt's minimum cost: every password login (services, tests, smoke) is ~0.3 s cheaper. Test-only cloud.
password_hash_rounds = 4
EOF
  uwsgi_ini keystone 5000 keystone.wsgi.api:application 2 "env = OS_KEYSTONE_CONFIG_DIR=$ETC/keystone" \
    | write_file "$ETC/uwsgi/keystone.ini"
  local km=("$VENV/bin/keystone-manage" --config-file "$ETC/keystone/keystone.conf") v
  v="$(ver keystone) $(cksum <<< "$ADMIN_PW")"
  if ! stamp_ok keystone-db "$v"; then
    run_logged keystone-manage "${km[@]}" db_sync
    mkdir -p "$DATA/keystone"
    [ -d "$DATA/keystone/fernet-keys" ] || run_logged keystone-manage "${km[@]}" fernet_setup \
      --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
    [ -d "$DATA/keystone/credential-keys" ] || run_logged keystone-manage "${km[@]}" credential_setup \
      --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
    # admin user/project, the admin/member/reader roles, RegionOne and the identity endpoint
    run_logged keystone-manage "${km[@]}" bootstrap --bootstrap-password "$ADMIN_PW" \
      --bootstrap-region-id RegionOne --bootstrap-public-url "$KS_URL/v3" \
      --bootstrap-internal-url "$KS_URL/v3" --bootstrap-admin-url "$KS_URL/v3"
    stamp_set keystone-db "$v"
  fi
  launch_api keystone 5000 keystone
  # the rest of the cloud authenticates against it: wait here, not at the end
  wait_until 90 keystone http_up "$KS_URL/v3" || die "keystone did not answer within 90 s"
  ok "ready"
}

catalog_up() {
  step "service users + catalog"
  # once per keystone database (and again when bootstrap.py changes)
  local want; want="$(sha256sum "$HERE/bootstrap.py" | cut -c1-16) $(cat "$STAMPS/keystone-db")"
  if stamp_ok catalog "$want"; then ok "present"; return; fi
  run_logged bootstrap "$VENV/bin/python" "$HERE/bootstrap.py" catalog
  stamp_set catalog "$want"
  ok "created"
}

# ---- Glance -----------------------------------------------------------------------------------------
glance_up() {
  step "glance (file store)"
  mkdir -p "$DATA/glance/images" "$DATA/glance/staging" "$DATA/glance/tasks"
  write_file "$ETC/glance/glance-api-paste.ini" < "$VENV/etc/glance/glance-api-paste.ini"
  write_file "$ETC/glance/glance-api.conf" <<EOF
[DEFAULT]
enabled_backends = fs:file
[database]
connection = $(dburl glance)
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $DATA/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $DATA/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $DATA/glance/tasks
[paste_deploy]
flavor = keystone
config_file = $ETC/glance/glance-api-paste.ini
[oslo_concurrency]
lock_path = $DATA/glance
[keystone_authtoken]
$(ks_auth glance)
EOF
  uwsgi_ini glance 9292 glance.wsgi.api:application 1 "env = OS_GLANCE_CONFIG_DIR=$ETC/glance" \
    | write_file "$ETC/uwsgi/glance.ini"
  local v; v=$(ver glance)
  if ! stamp_ok glance-db "$v"; then
    run_logged glance-manage "$VENV/bin/glance-manage" --config-file "$ETC/glance/glance-api.conf" db_sync
    stamp_set glance-db "$v"
  fi
  launch_api glance 9292 glance
  ok
}

# ---- Placement --------------------------------------------------------------------------------------
placement_up() {
  step "placement"
  write_file "$ETC/placement/placement.conf" <<EOF
[placement_database]
connection = $(dburl placement)
[api]
auth_strategy = keystone
[keystone_authtoken]
$(ks_auth placement)
EOF
  uwsgi_ini placement 8778 placement.wsgi.api:application 1 "env = OS_PLACEMENT_CONFIG_DIR=$ETC/placement" \
    | write_file "$ETC/uwsgi/placement.ini"
  local v; v=$(ver placement)
  if ! stamp_ok placement-db "$v"; then
    run_logged placement-manage "$VENV/bin/placement-manage" --config-file "$ETC/placement/placement.conf" db sync
    stamp_set placement-db "$v"
  fi
  launch_api placement 8778 placement
  ok
}

# ---- Neutron ----------------------------------------------------------------------------------------
neutron_up() {
  step "neutron (ml2/agentless)"
  mkdir -p "$DATA/neutron/lock"
  write_file "$ETC/neutron/api-paste.ini" < "$VENV/etc/neutron/api-paste.ini"
  write_file "$ETC/neutron/neutron.conf" <<EOF
[DEFAULT]
host = $HOST
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = $TRANSPORT_URL
state_path = $DATA/neutron
api_paste_config = $ETC/neutron/api-paste.ini
# no DHCP/L3 agents exist: do not cast to them
dhcp_agent_notification = false
router_auto_schedule = false
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
[database]
connection = $(dburl neutron)
[keystone_authtoken]
$(ks_auth neutron)
[nova]
$(ks_auth nova)
[oslo_concurrency]
lock_path = $DATA/neutron/lock
[quotas]
# the EC2 suite and the benchmarks create hundreds of ports and dozens of groups
quota_network = 100
quota_subnet = 200
quota_port = 5000
quota_router = 50
quota_floatingip = 200
quota_security_group = 500
quota_security_group_rule = 5000
EOF
  write_file "$ETC/neutron/ml2_conf.ini" <<EOF
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers = agentless
extension_drivers = port_security
[ml2_type_flat]
flat_networks = public
[ml2_type_vxlan]
vni_ranges = 1:10000
[securitygroup]
enable_security_group = true
EOF
  uwsgi_ini neutron 9696 neutron.wsgi.api:application 1 "env = OS_NEUTRON_CONFIG_DIR=$ETC/neutron" \
    "env = OS_NEUTRON_CONFIG_FILES=neutron.conf;ml2_conf.ini" | write_file "$ETC/uwsgi/neutron.ini"
  local v; v=$(ver neutron)
  if ! stamp_ok neutron-db "$v"; then
    run_logged neutron-db-manage "$VENV/bin/neutron-db-manage" --config-file "$ETC/neutron/neutron.conf" \
      --config-file "$ETC/neutron/ml2_conf.ini" upgrade heads
    stamp_set neutron-db "$v"
  fi
  launch_api neutron 9696 neutron
  ok
}

# ---- Nova -------------------------------------------------------------------------------------------
nova_up() {
  step "nova (fake driver)"
  mkdir -p "$DATA/nova/instances" "$DATA/nova/lock"
  write_file "$ETC/nova/api-paste.ini" < "$VENV/etc/nova/api-paste.ini"
  write_file "$ETC/nova/nova.conf" <<EOF
[DEFAULT]
host = $HOST
# the fake driver's variant with a stable node identity (state_path/compute_id): plain FakeDriver
# makes a new node UUID per start and nova-compute then refuses to restart ("Duplicate compute node")
compute_driver = fake.FakeDriverWithoutFakeNodes
transport_url = $TRANSPORT_URL
my_ip = 127.0.0.1
state_path = $DATA/nova
instances_path = $DATA/nova/instances
enabled_apis = osapi_compute
osapi_compute_listen = 127.0.0.1
metadata_listen = 127.0.0.1
report_interval = 10
# on SIGTERM, exit within seconds instead of waiting 60 s for in-flight RPCs (down kills after 15 s)
graceful_shutdown_timeout = 5
service_down_time = 60
# one compute host: a resize (EC2 ModifyInstanceAttribute instanceType) has nowhere else to go
allow_resize_to_same_host = true
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = $ETC/nova/api-paste.ini
[api_database]
connection = $(dburl nova_api)
[database]
connection = $(dburl nova)
[keystone_authtoken]
$(ks_auth nova)
[service_user]
# Cinder accepts volume detach/attachment changes only with Nova's service token alongside the user's
send_service_user_token = true
$(ks_auth nova)
[placement]
$(ks_auth placement)
[neutron]
$(ks_auth neutron)
[glance]
region_name = RegionOne
[cinder]
os_region_name = RegionOne
$(ks_auth cinder | grep -v '^region_name')
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 30
[quota]
# room for the EC2 suite (100+ instances) and the 300-instance DescribeInstances benchmark
instances = 1000
cores = 4000
ram = 8192000
key_pairs = 1000
server_groups = 100
[oslo_concurrency]
lock_path = $DATA/nova/lock
[vnc]
enabled = false
[key_manager]
backend = nova.keymgr.conf_key_mgr.ConfKeyManager
EOF
  uwsgi_ini nova-api 8774 nova.wsgi.osapi_compute:application 2 "env = OS_NOVA_CONFIG_DIR=$ETC/nova" \
    | write_file "$ETC/uwsgi/nova-api.ini"
  local conf=$ETC/nova/nova.conf v
  local nm=("$VENV/bin/nova-manage" --config-file "$conf")
  v=$(ver nova)
  if ! stamp_ok nova-db "$v"; then
    run_logged nova-manage "${nm[@]}" api_db sync
    "${nm[@]}" cell_v2 list_cells 2>/dev/null | grep -q ' cell0 ' ||
      run_logged nova-manage "${nm[@]}" cell_v2 map_cell0 --database_connection "$(dburl nova_cell0)"
    "${nm[@]}" cell_v2 list_cells 2>/dev/null | grep -q ' cell1 ' ||
      run_logged nova-manage "${nm[@]}" cell_v2 create_cell --name cell1
    run_logged nova-manage "${nm[@]}" db sync
    stamp_set nova-db "$v"
  fi
  nova_repair_stale
  launch_api nova-api 8774 nova
  local d
  for d in nova-conductor nova-scheduler nova-compute; do
    launch "$d" nova "$VENV/bin/$d" --config-file "$conf"
  done
  ok
}

# Stale state. MariaDB keeps everything across `down`: instances, volumes, and the service records of
# the last run. We repair (never wipe) so the tests' resources survive a restart:
#  - Nova's node identity: a nova-compute that finds its own service record from an earlier start
#    refuses to start unless $state_path/compute_id names its node ("No local node identity found, but
#    this is not our first startup"). The driver writes that file on its first start; if it is missing
#    while the database has this host's compute node (state from an older script, a deleted data
#    directory), we write it from that record.
#  - records of another host name (a state made while the host name was the machine's, which changes
#    between machines): soft-deleted; we pin host = devcloud so it cannot happen again.
#  - a nova-compute service that a test disabled or forced down: re-enabled.
# Instances of the last run stay in the database; the fake driver has forgotten them, so Nova marks them
# SHUTOFF at start (like a rebooted hypervisor). `wipe` is the way to a clean slate.
nova_repair_stale() {
  local stale node
  stale=$(sql -N -e "SELECT COUNT(*) FROM nova.services WHERE deleted = 0 AND topic = 'compute'
                     AND host <> '$HOST'")
  if [ "$stale" != 0 ]; then
    sql -e "UPDATE nova.services SET deleted = id, deleted_at = NOW() WHERE deleted = 0 AND topic = 'compute'
              AND host <> '$HOST';
            UPDATE nova.compute_nodes SET deleted = id, deleted_at = NOW() WHERE deleted = 0 AND host <> '$HOST';
            DELETE FROM nova_api.host_mappings WHERE host <> '$HOST';"
    info "removed $stale stale nova-compute record(s) of other hosts" >>"$LOG/nova-compute.log"
  fi
  if [ ! -f "$DATA/nova/compute_id" ]; then
    node=$(sql -N -e "SELECT uuid FROM nova.compute_nodes WHERE deleted = 0 AND host = '$HOST' LIMIT 1")
    [ -z "$node" ] || echo "$node" > "$DATA/nova/compute_id"
  fi
  sql -e "UPDATE nova.services SET disabled = 0, forced_down = 0 WHERE deleted = 0 AND host = '$HOST'
          AND (disabled = 1 OR forced_down = 1)"
}

# A new compute host is usable only once it is mapped to cell1 (nova-manage cell_v2 discover_hosts).
nova_map_host() {
  step "nova compute host mapping"
  local q="SELECT COUNT(*) FROM nova_api.host_mappings WHERE host = '$HOST'"
  if [ "$(sql -N -e "$q")" != 0 ]; then ok "present"; return; fi
  wait_until 120 nova-compute eval "[ \"\$(sql -N -e \"SELECT COUNT(*) FROM nova.compute_nodes WHERE deleted = 0
      AND host = '$HOST'\")\" != 0 ]" || die "nova-compute did not register within 120 s
$(log_tail nova-compute)"
  run_logged nova-manage "$VENV/bin/nova-manage" --config-file "$ETC/nova/nova.conf" cell_v2 discover_hosts
  [ "$(sql -N -e "$q")" != 0 ] || die "discover_hosts did not map $HOST"
  ok "mapped"
}

# ---- Cinder -----------------------------------------------------------------------------------------
cinder_up() {
  step "cinder (fake volume driver)"
  mkdir -p "$DATA/cinder/lock"
  write_file "$ETC/cinder/api-paste.ini" < "$VENV/etc/cinder/api-paste.ini"
  write_file "$ETC/cinder/resource_filters.json" < "$VENV/etc/cinder/resource_filters.json"
  write_file "$ETC/cinder/cinder.conf" <<EOF
[DEFAULT]
host = $HOST
transport_url = $TRANSPORT_URL
auth_strategy = keystone
my_ip = 127.0.0.1
osapi_volume_listen = 127.0.0.1
state_path = $DATA/cinder
api_paste_config = $ETC/cinder/api-paste.ini
resource_query_filters_file = $ETC/cinder/resource_filters.json
enabled_backends = fake
quota_volumes = 1000
quota_snapshots = 1000
quota_gigabytes = 100000
quota_backups = 100
graceful_shutdown_timeout = 5
[fake]
# cinder's own fake driver, completed (devcloud/openstack/drivers): every operation succeeds, no storage
volume_driver = cloudgate_devcloud_cinder.DevcloudVolumeDriver
volume_backend_name = fake
[database]
connection = $(dburl cinder)
[keystone_authtoken]
$(ks_auth cinder)
[nova]
$(ks_auth nova)
[oslo_concurrency]
lock_path = $DATA/cinder/lock
[key_manager]
# encrypted volume types without Barbican: one fixed key from the secrets file (test-only cloud; the
# fake driver never encrypts, but Cinder still makes and tracks the key of every encrypted volume)
backend = cinder.keymgr.conf_key_mgr.ConfKeyManager
fixed_key = $VOLUME_KEY
EOF
  # cinder's WSGI app reads its configuration from the command line
  uwsgi_ini cinder-api 8776 cinder.wsgi.api:application 1 "pyargv = --config-file $ETC/cinder/cinder.conf" \
    | write_file "$ETC/uwsgi/cinder-api.ini"
  local v; v=$(ver cinder)
  if ! stamp_ok cinder-db "$v"; then
    run_logged cinder-manage "$VENV/bin/cinder-manage" --config-file "$ETC/cinder/cinder.conf" db sync
    stamp_set cinder-db "$v"
  fi
  launch_api cinder-api 8776 cinder
  local d
  for d in cinder-scheduler cinder-volume; do
    launch "$d" cinder "$VENV/bin/$d" --config-file "$ETC/cinder/cinder.conf"
  done
  ok
}

# ---- readiness --------------------------------------------------------------------------------------
apis_ready() {
  local entry name port
  for entry in "${APIS[@]}"; do
    name=${entry%%:*}; port=${entry##*:}
    step "  $name answers on :$port"
    if http_up "http://127.0.0.1:$port/"; then ok "up"; continue; fi
    wait_until 180 "$name" http_up "http://127.0.0.1:$port/" || die "$name did not answer within 180 s
$(log_tail "$name")"
    ok "up"
  done
}

# A (re)started Nova/Cinder daemon is usable once it has reported to its service table: until then
# the scheduler finds "no valid host" and Cinder no backend.
heartbeat_since() {  # $1 = daemon name, $2 = UTC time it was started
  local db=${1%%-*} n
  n=$(sql -N -e "SELECT COUNT(*) FROM $db.services WHERE deleted = 0 AND \`binary\` = '$1'
                 AND host LIKE '$HOST%' AND COALESCE(updated_at, created_at) > '$2'" 2>/dev/null)
  [ "${n:-0}" != 0 ]
}

daemons_ready() {
  local name
  for name in "${DAEMONS[@]}"; do
    [[ " ${LAUNCHED[*]} " == *" $name "* ]] || continue
    step "  $name reports in"
    wait_until 180 "$name" heartbeat_since "$name" "$(cat "$RUN/$name.started")" ||
      die "$name did not report within 180 s
$(log_tail "$name")"
    ok "up"
  done
}

# ---- Swift (object-store) ---------------------------------------------------------------------------
# devcloud/swift.sh in its Keystone mode: authtoken + keystoneauth, one account per project, its own
# state, rings and ports (the tempauth Swift of swift.sh is a separate cloud), Swift in our venv.
SWIFT_PORT=28080   # proxy; the account/container/object servers and memcached take the four above
swift_sh() {  # $1 = up|status|down
  env SWIFT_AUTH=keystone SWIFT_STATE_DIR="$STATE/swift" SWIFT_VENV="$VENV" SWIFT_PROXY_PORT=$SWIFT_PORT \
    SWIFT_KEYSTONE_URL=$KS_URL SWIFT_KEYSTONE_USER=swift SWIFT_KEYSTONE_PASSWORD="${SERVICE_PW:-}" \
    bash "$ROOT/devcloud/swift.sh" "$1"
}
swift_up() {
  step "swift (keystoneauth) on :$SWIFT_PORT"
  swift_sh up > "$LOG/swift-up.log" 2>&1 || die "swift did not come up:
$(log_tail swift-up 20)"
  ok "up"
}
