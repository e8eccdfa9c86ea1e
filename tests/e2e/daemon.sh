# Helpers for the end-to-end tests that run amicaled processes (sourced after
# lib.sh). Every daemon listens on 127.0.0.1 port 0 (the system picks a free
# port) and is found through `amicale status`; every wait polls a condition
# with a deadline, never a bare sleep.
#
#   node_init NAME [KIND]        amicale init in $T/NAME, key in KEY_NAME
#   daemon_start NAME [ARGS...]  starts amicaled for $T/NAME (log $T/NAME.log),
#                                waits until it answers; PID_NAME, ADDR_NAME
#   daemon_stop NAME             SIGTERM, waits for the exit; its status -> $RC
#   daemon_kill NAME             SIGKILL (a crash), waits for it to be gone
#   wait_for NAME SECONDS CMD... polls CMD every 0.1 s until it succeeds; an
#                                assertion (fails at the deadline)
#   peer_state DIR KEY           prints the peer's state from `amicale status`
#   log_has NAME TEXT            the daemon's log contains TEXT
#
# Daemons still running at exit are killed.

: "${AMICALED_BIN:=$(dirname "$AMICALE_BIN")/amicaled}"
export AMICALED_BIN
if [ ! -x "$AMICALED_BIN" ]; then
  echo "FATAL: amicaled not found at '$AMICALED_BIN' (build first, or set AMICALED_BIN)" >&2
  exit 1
fi

_daemon_pids=()
_daemon_cleanup() {
  local rc=$? p # kept for _cleanup, which reads the script's status
  for p in "${_daemon_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  return "$rc"
}
trap '_daemon_cleanup; _cleanup' EXIT

node_init() {
  local name=$1 kind=${2:-school}
  "$AMICALE_BIN" init --dir "$T/$name" --name "Node $name" --kind "$kind" >/dev/null ||
    { echo "FATAL: amicale init $name failed" >&2; exit 1; }
  printf -v "KEY_$name" '%s' "$("$AMICALE_BIN" id --dir "$T/$name" --json | jq -r .key)"
}

# Runs CMD until it succeeds or SECONDS pass. Returns 0/1 without counting.
poll() {
  local secs=$1; shift
  local deadline=$((SECONDS + secs))
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

wait_for() {
  local name=$1 secs=$2; shift 2
  if poll "$secs" "$@"; then _pass; else _fail "$name" "within ${secs}s: $*" "still not true"; return 1; fi
}

_status_ok() { "$AMICALE_BIN" status --dir "$1" --json >/dev/null 2>&1; }

daemon_start() {
  local name=$1; shift
  "$AMICALED_BIN" --dir "$T/$name" --listen 127.0.0.1:0 --log-level debug "$@" \
    >>"$T/$name.log" 2>&1 &
  local pid=$!
  _daemon_pids+=("$pid")
  printf -v "PID_$name" '%s' "$pid"
  if ! poll 20 _status_ok "$T/$name"; then
    echo "FATAL: amicaled $name did not start; its log:" >&2
    sed 's/^/    | /' "$T/$name.log" >&2
    exit 1
  fi
  printf -v "ADDR_$name" '%s' "$("$AMICALE_BIN" status --dir "$T/$name" --json | jq -r .listen)"
}

_gone() { ! kill -0 "$1" 2>/dev/null; }

daemon_stop() {
  local name=$1 pidvar="PID_$1"
  local pid=${!pidvar}
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  RC=$?
}

daemon_kill() {
  local name=$1 pidvar="PID_$1"
  local pid=${!pidvar}
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  poll 10 _gone "$pid"
}

peer_state() {
  "$AMICALE_BIN" status --dir "$1" --json 2>/dev/null |
    jq -r --arg k "$2" '.peers[] | select(.key == $k) | .state'
}

peer_connected() { [ "$(peer_state "$1" "$2")" = connected ]; }

# Makes running nodes A and B (names as given to node_init) peers of each
# other, and waits until they are connected.
peer_pair() {
  "$AMICALE_BIN" peer add --dir "$T/$1" "$(_var ADDR_"$2")" "$(_var KEY_"$2")" --name "$2" >/dev/null
  "$AMICALE_BIN" peer add --dir "$T/$2" "$(_var ADDR_"$1")" "$(_var KEY_"$1")" --name "$1" >/dev/null
  wait_for "$1 connected to $2" 20 peer_connected "$T/$1" "$(_var KEY_"$2")"
}
_var() { printf '%s' "${!1}"; }

log_has() { grep -qF -- "$2" "$T/$1.log"; }
