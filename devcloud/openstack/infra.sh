# shellcheck shell=bash
# MariaDB and RabbitMQ from Debian's packages, each as a private instance: own data directory under
# $STATE, own configuration, started and stopped by us. Debian's system instances (if any) are never
# touched. Sourced by devcloud/openstack.sh.

DBSOCK=$RUN/mysqld.sock
DBNAMES=(keystone glance placement nova_api nova nova_cell0 neutron cinder)
# OpenStack services reach MariaDB over its unix socket: MariaDB opens no TCP port at all.
dburl() { echo "mysql+pymysql://os:$DB_PW@localhost/$1?unix_socket=$DBSOCK&charset=utf8"; }
sql() { mariadb --socket="$DBSOCK" -u root "$@"; }

mariadb_up() {
  step "mariadb (socket only)"
  ((${#DBSOCK} < 100)) || die "socket path too long for unix sockets: $DBSOCK (move the checkout)"
  write_file "$ETC/mariadb/my.cnf" <<EOF
[mysqld]
datadir = $DATA/mysql
socket = $DBSOCK
pid-file = $RUN/mariadbd.own-pidfile
log-error = $LOG/mariadb.err
skip-networking
skip-name-resolve
# OpenStack opens many pooled connections; the rest keeps a test database small and quick.
max_connections = 1000
innodb_buffer_pool_size = 128M
innodb_log_file_size = 64M
innodb_flush_log_at_trx_commit = 2
performance_schema = OFF
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
EOF
  local digest; digest=$(files_digest "$ETC/mariadb/my.cnf")
  if running_with mariadb "$digest" && sql -e 'select 1' >/dev/null 2>&1; then ok "running"; return; fi
  stop_daemon mariadb 30
  if [ ! -d "$DATA/mysql/mysql" ]; then
    rm -rf "$DATA/mysql"
    run_logged mariadb-install mariadb-install-db --defaults-file="$ETC/mariadb/my.cnf" --user="$(id -un)" \
      --auth-root-authentication-method=socket --skip-test-db
  fi
  # --user: mariadbd refuses to run as root unless told to; the data directory belongs to us anyway.
  LAUNCHED+=(mariadb)
  start_daemon mariadb mariadbd --defaults-file="$ETC/mariadb/my.cnf" --user="$(id -un)"
  record_digest mariadb "$digest"
  wait_until 60 mariadb sql -e 'select 1' >/dev/null 2>&1 || die "mariadb did not answer within 60 s"
  local db grants=""
  for db in "${DBNAMES[@]}"; do
    grants+="CREATE DATABASE IF NOT EXISTS $db; GRANT ALL ON $db.* TO 'os'@'localhost';"
  done
  sql -e "CREATE USER IF NOT EXISTS 'os'@'localhost' IDENTIFIED BY '$DB_PW';
          ALTER USER 'os'@'localhost' IDENTIFIED BY '$DB_PW'; $grants FLUSH PRIVILEGES;" \
    || die "mariadb: creating databases failed"
  ok "started"
}

# ---- RabbitMQ ----------------------------------------------------------------------------------------
# Debian's /usr/sbin wrappers switch to the rabbitmq user and its /var/lib; the scripts under
# /usr/lib/rabbitmq/bin honour RABBITMQ_* variables, so the broker runs with our files only. HOME holds
# the Erlang cookie. The Erlang distribution (epmd 4369, node 25672) is bound to loopback too.
RMQ_BIN=/usr/lib/rabbitmq/bin
rabbit_env() {
  export HOME=$DATA/rabbitmq RABBITMQ_CONF_ENV_FILE=$ETC/rabbitmq/rabbitmq-env.conf \
    RABBITMQ_NODENAME=devcloud@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=5672 \
    RABBITMQ_DIST_PORT=25672 RABBITMQ_CONFIG_FILE=$ETC/rabbitmq/rabbitmq.conf \
    RABBITMQ_ENABLED_PLUGINS_FILE=$ETC/rabbitmq/enabled_plugins RABBITMQ_MNESIA_BASE=$DATA/rabbitmq/mnesia \
    RABBITMQ_LOG_BASE=$LOG/rabbitmq RABBITMQ_PID_FILE=$RUN/rabbitmq.own-pidfile ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}
rabbitctl() { (rabbit_env; timeout 60 "$RMQ_BIN/rabbitmqctl" -q "$@"); }

rabbit_up() {
  step "rabbitmq (127.0.0.1:5672)"
  mkdir -p "$DATA/rabbitmq" "$LOG/rabbitmq"
  write_file "$ETC/rabbitmq/rabbitmq-env.conf" < /dev/null   # nothing: everything is in the environment
  write_file "$ETC/rabbitmq/enabled_plugins" <<< '[].'
  write_file "$ETC/rabbitmq/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:5672
loopback_users = none
log.file.level = warning
EOF
  # (rabbitmqctl costs a second of Erlang start-up: a live broker process with its port open will do)
  local digest; digest=$(files_digest "$ETC/rabbitmq"/*)
  if running_with rabbitmq "$digest" && port_busy 5672; then ok "running"; return; fi
  rabbit_stop
  port_busy 5672 && die "port 5672 is taken by a process devcloud did not start (another RabbitMQ?)"
  # epmd: start our own on loopback unless one already runs (it is shared by every Erlang node here).
  if ! alive epmd && ! port_busy 4369; then
    start_daemon epmd epmd -address 127.0.0.1
  fi
  LAUNCHED+=(rabbitmq)
  (rabbit_env; start_daemon rabbitmq "$RMQ_BIN/rabbitmq-server")
  record_digest rabbitmq "$digest"
  wait_until 90 rabbitmq rabbitctl status >/dev/null 2>&1 || die "rabbitmq did not answer within 90 s
$(log_tail rabbitmq)"
  rabbitctl add_user openstack "$RABBIT_PW" >/dev/null 2>&1 || rabbitctl change_password openstack "$RABBIT_PW"
  rabbitctl set_permissions openstack '.*' '.*' '.*' >/dev/null
  ok "started"
}

rabbit_stop() {
  # A clean stop first (flushes its state), then the process group whatever happened.
  if alive rabbitmq; then rabbitctl stop >/dev/null 2>&1 || true; fi
  stop_daemon rabbitmq 20
}
