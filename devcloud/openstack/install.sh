# shellcheck shell=bash
# Installation: Debian packages (MariaDB, RabbitMQ) and the pinned OpenStack release in its own venv.
# Sourced by devcloud/openstack.sh.

# OpenStack 2026.1 ("Gazpacho"): the service releases of that series, every library pinned by the
# series' upper-constraints (published by openstack/requirements, stable/2026.1).
RELEASE=2026.1
OS_PACKAGES=(
  keystone==29.0.2 glance==32.0.0 openstack-placement==15.0.0 nova==33.0.2 neutron==28.0.2 cinder==28.0.0
  python-openstackclient PyMySQL botocore  # CLI for humans, DB driver, SigV4 signer for the ec2tokens check
  uwsgi==2.0.31                            # not in upper-constraints: pinned here (built from source, needs cc)
)
# Our own lock: the package set a working devcloud was built and verified with (CI can't reach opendev).
LOCK=$HERE/constraints.txt
UC_URL=https://opendev.org/openstack/requirements/raw/branch/stable/$RELEASE/upper-constraints.txt
UC_LOCAL=$ROOT/../shared/reference/openstack-aio/uc-$RELEASE.txt
DRIVERS_PKG=$HERE/drivers

install_packages() {
  step "debian packages"
  local need=()
  [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
  command -v curl >/dev/null 2>&1 || need+=(curl)
  command -v cc >/dev/null 2>&1 || need+=(gcc)
  if [ ${#need[@]} -eq 0 ]; then ok "present"; return; fi
  [ "$(id -u)" = 0 ] || die "missing ${need[*]}: apt-get install them (needs root)"
  export DEBIAN_FRONTEND=noninteractive
  run_logged apt apt-get update -q
  # Container images ship a policy-rc.d that stops apt from starting the daemons; where there is none,
  # Debian's own mariadb/rabbitmq instances may start: they use the system datadirs and are left alone
  # (ours run with private data under $STATE, MariaDB without TCP, RabbitMQ on its own node name).
  run_logged apt apt-get install -y -q --no-install-recommends "${need[@]}"
  ok "installed ${need[*]}"
}

# upper-constraints: fetched once and kept in the venv (what the venv was built with).
fetch_constraints() {  # $1 = destination
  if [ -f "$LOCK" ]; then
    cp "$LOCK" "$1"; echo "devcloud/openstack/constraints.txt"; return
  fi
  if curl -fsS --max-time 15 -o "$1.tmp" "$UC_URL" 2>/dev/null && grep -q '^oslo.config===' "$1.tmp"; then
    mv "$1.tmp" "$1"; echo "opendev"
  elif [ -f "$UC_LOCAL" ]; then
    rm -f "$1.tmp"; cp "$UC_LOCAL" "$1"; echo "shared/reference copy (opendev unreachable)"
  else
    rm -f "$1.tmp"; return 1
  fi
}

install_drivers() {
  # Built from a copy: pip builds in the source tree and would leave build/ and *.egg-info in the repo.
  local tmp; tmp=$(mktemp -d)
  cp "$DRIVERS_PKG"/pyproject.toml "$DRIVERS_PKG"/*.py "$tmp/"
  run_logged pip "$VENV/bin/pip" install -q --no-deps "$@" "$tmp"
  rm -rf "$tmp"
}

install_venv() {
  step "openstack $RELEASE venv"
  # What the venv must hold: the pinned list, the constraints and the devcloud drivers' source. Any change
  # rebuilds it from scratch (a partial upgrade of an OpenStack venv is not worth debugging).
  local uc=$VENV/upper-constraints.txt want have src
  want="${OS_PACKAGES[*]} $(sha256sum < "$LOCK" | cut -c1-12) | $(cat "$DRIVERS_PKG"/pyproject.toml "$DRIVERS_PKG"/*.py | sha256sum | cut -c1-16)"
  have=$(cat "$VENV/.devcloud-stamp" 2>/dev/null || true)
  if [ "$have" = "$want" ] && [ -x "$VENV/bin/uwsgi" ]; then ok "present"; return; fi
  if [ -n "$have" ] && [ "${have%% | *}" = "${want%% | *}" ] && [ -x "$VENV/bin/uwsgi" ]; then
    # only the driver changed: reinstall just that
    install_drivers --force-reinstall
    echo "$want" > "$VENV/.devcloud-stamp"; ok "devcloud drivers updated"; return
  fi
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
  src=$(fetch_constraints "$uc") || die "no upper-constraints: $UC_URL unreachable and $UC_LOCAL missing"
  info "constraints from $src" >>"$LOG/pip.log"
  run_logged pip "$VENV/bin/pip" install -q -c "$uc" "${OS_PACKAGES[@]}"
  install_drivers
  echo "$want" > "$VENV/.devcloud-stamp"
  ok "installed (constraints: $src)"
}
