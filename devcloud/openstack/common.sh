# shellcheck shell=bash
# Helpers shared by devcloud/openstack.sh and its parts: output with timings, processes we own, waits,
# configuration files. Sourced, never run.

# ---- output -------------------------------------------------------------------------------------------
# Durations come from bash's own clock ($EPOCHREALTIME): no subprocess per measurement.
now_us() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
fmt_s() { local us=$1; printf '%d.%01d' $((us / 1000000)) $(((us % 1000000) / 100000)); }
since() { fmt_s $(($(now_us) - $1)); }

STEP_T0=0
step() { STEP_T0=$(now_us); printf '[openstack] %-40s' "$1"; }
ok() { printf ' %s (%ss)\n' "${1:-ok}" "$(since "$STEP_T0")"; }
info() { printf '[openstack] %s\n' "$*"; }
die() { printf '\n[openstack] ERROR: %s\n' "$*" >&2; exit 1; }

# ---- processes we started -----------------------------------------------------------------------------
# Every daemon runs as the leader of its own process group (setsid), so "stop" can signal the group
# (uwsgi workers, rabbit's beam, nova's children) and nothing else. The pid file holds "PID STARTTIME":
# a PID that was reused by an unrelated process after a reboot does not count as ours.
proc_start_time() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }

alive() {  # $1 = name
  local f=$RUN/$1.pid pid st
  [ -f "$f" ] || return 1
  read -r pid st < "$f" || return 1
  [ -n "$pid" ] && [ -n "$st" ] && [ "$(proc_start_time "$pid")" = "$st" ]
}

pid_of() { awk '{print $1}' "$RUN/$1.pid"; }

start_daemon() {  # $1 = name, rest = command; output goes to $LOG/name.log
  local name=$1; shift
  # fd 9 is our lock (see openstack.sh): a daemon that inherited it would hold the lock forever
  setsid "$@" >>"$LOG/$name.log" 2>&1 </dev/null 9>&- &
  local pid=$!
  echo "$pid $(proc_start_time "$pid")" > "$RUN/$name.pid"
}

any_group_alive() {  # pgids...
  local pg
  for pg in "$@"; do kill -0 -- "-$pg" 2>/dev/null && return 0; done
  return 1
}

stop_daemons() {  # $1 = seconds to wait for a clean exit before SIGKILL, rest = names; all at once
  local wait=$1 name i pids=() pid; shift
  for name in "$@"; do
    if alive "$name"; then
      pid=$(pid_of "$name"); pids+=("$pid")
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for ((i = 0; i < wait * 5; i++)); do
    any_group_alive "${pids[@]}" || break
    sleep 0.2
  done
  # whatever is left (a service stuck in its graceful shutdown) goes, with its whole process group
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  for name in "$@"; do rm -f "$RUN/$name.pid"; done
}
stop_daemon() { stop_daemons "${2:-20}" "$1"; }  # $1 = name, $2 = grace seconds

our_pgids() {  # process groups of everything we recorded (one per daemon)
  local f
  for f in "$RUN"/*.pid; do
    [ -f "$f" ] || continue
    if alive "$(basename "$f" .pid)"; then awk '{print $1}' "$f"; fi
  done
}

log_tail() { tail -n "${2:-15}" "$LOG/$1.log" 2>/dev/null | sed 's/^/    | /'; }

# ---- waits (every loop is bounded) --------------------------------------------------------------------
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-3}" "$1" 2>/dev/null || true; }
http_up() { local c; c=$(http_code "$1"); [ -n "$c" ] && [ "$c" != 000 ]; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_free() { ! port_busy "$1"; }

wait_until() {  # $1 = seconds, $2 = daemon name whose death aborts the wait ("" for none), rest = check
  local limit=$1 name=$2 t0; shift 2
  t0=$(now_us)
  while (($(now_us) - t0 < limit * 1000000)); do
    "$@" && return 0
    if [ -n "$name" ] && ! alive "$name"; then
      die "$name exited while starting; end of $LOG/$name.log:
$(log_tail "$name" 25)"
    fi
    sleep 0.3
  done
  return 1
}

# ---- configuration files ------------------------------------------------------------------------------
# Rewritten only when the content changes (keeps mtimes meaningful for whoever reads them).
write_file() {  # $1 = path; content on stdin
  local tmp
  mkdir -p "$(dirname "$1")"
  tmp=$(mktemp "$1.XXXX")
  cat > "$tmp"
  if [ -f "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

# A daemon runs with the configuration it was started with: its digest (configuration files + the venv's
# stamp, i.e. installed code) is kept next to its pid file, and a daemon whose digest differs from the
# current one is restarted. (A flag set when a file is rewritten would be lost if `up` stopped midway.)
files_digest() { { cat "$@" 2>/dev/null || true; } | cksum | cut -d' ' -f1; }  # (missing files: no error)
digest_of() { files_digest "$@" "$VENV/.devcloud-stamp"; }
running_with() { alive "$1" && [ "$(cat "$RUN/$1.digest" 2>/dev/null)" = "$2" ]; }  # $1 = name, $2 = digest
record_digest() { echo "$2" > "$RUN/$1.digest"; }

# Stamps remember one-time work (schema syncs, bootstrap) together with what it was done for, so a
# different release or a wiped database redoes it. They live in $STATE with the database itself.
stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$STAMPS"; echo "$2" > "$STAMPS/$1"; }

# Runs a one-shot command with its output in a log; on failure shows the end of that log.
run_logged() {  # $1 = log name, rest = command
  local name=$1; shift
  if ! "$@" >>"$LOG/$name.log" 2>&1; then
    die "'$*' failed; end of $LOG/$name.log:
$(log_tail "$name" 25)"
  fi
}
