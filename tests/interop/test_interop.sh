# Interoperability of the transport (docs/PROTOCOL.md section 14): an
# independent client written in Python from the document alone
# (tests/interop/amicale_client.py: its own Noise XX, canonical msgpack,
# identity binding and announcement signing) talks to a real amicaled.
#
#   1. the client's Noise implementation reproduces the cacophony vectors,
#      and its transport (handshake payloads, bindings, invitation proof,
#      frames and chunks, session messages) reproduces every byte of
#      tests/vectors/transport/session.json, running both sides;
#   2. node S (the daemon) and node C (whose key the client uses) are
#      created; S has C as a peer (and so trusts it);
#   3. amicaled runs for S on a free port;
#   4. the client, as C: handshake, hello both ways, ping/pong, announces an
#      event signed by C, goodbye; S then holds the event and logged the
#      goodbye;
#   5. a client with an unknown key gets goodbye unknown-peer after message 3;
#      a client expecting another server key aborts after message 2; S goes on;
#   6. a connected client receives goodbye shutdown when S gets SIGTERM, and
#      S exits 0.
#
# ctest: interop.python (AMICALE_BIN, AMICALED_BIN, AMICALE_SRC). By hand:
#   AMICALE_BIN=build/amicale AMICALED_BIN=build/amicaled bash tests/interop/test_interop.sh
# Needs Debian's /usr/bin/python3 with python3-msgpack and python3-nacl
# (AMICALE_PYTHON overrides), and jq.

_idir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${AMICALE_SRC:=$(cd "$_idir/../.." && pwd)}"
# shellcheck source=../e2e/lib.sh
. "$AMICALE_SRC/tests/e2e/lib.sh"

: "${AMICALED_BIN:=$(dirname "$AMICALE_BIN")/amicaled}"
PY=${AMICALE_PYTHON:-/usr/bin/python3}
CLIENT="$_idir/amicale_client.py"

fatal() {
  echo "FATAL: $*" >&2
  _failures=$((_failures + 1))
  _failed_names+=("setup: $*")
  finish
}

[ -x "$AMICALED_BIN" ] || fatal "amicaled binary not found at '$AMICALED_BIN' (set AMICALED_BIN)"
"$PY" -c 'import msgpack, nacl.bindings, nacl.signing' 2>/dev/null ||
  fatal "$PY lacks msgpack or nacl (Debian: python3-msgpack python3-nacl)"
command -v jq >/dev/null || fatal "jq not found"

# The daemon (and a lingering client) must not outlive the script.
DAEMON_PID=""
LINGER_PID=""
_stop_children() {
  [ -n "$LINGER_PID" ] && kill "$LINGER_PID" 2>/dev/null
  [ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null
  return 0
}
trap '_rc=$?; _stop_children; (exit $_rc); _cleanup' EXIT

# client ARGS...: runs the Python client; stdout -> $OUT, stderr -> $ERR, $RC.
client() { run "$PY" "$CLIENT" "$@"; }

# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

# ---- 1. Noise against the published vectors --------------------------------

client --self-test "$AMICALE_SRC/tests/vectors/noise/cacophony-25519-ChaChaPoly-BLAKE2b.json"
expect_eq "client --self-test exit status" 0 "$RC"
expect_out_contains "0 failed"
if [ "$RC" != 0 ]; then
  sed 's/^/    | /' "$ERR" | head -20
  finish # no point talking to a node with a broken Noise
fi

# The transport vectors made by the C code (gen_transport_vectors): the
# client runs both sides of each session from the keys and plaintexts alone
# and must produce every wire byte, payload, binding and the handshake hash.
client --vectors "$AMICALE_SRC/tests/vectors/transport/session.json"
expect_eq "client --vectors exit status" 0 "$RC"
expect_out_contains "transport vectors: 2 cases, "
expect_out_contains " checks passed"
expect_err_empty # on a mismatch, shows the client's precise message

# ---- 2. the nodes ------------------------------------------------------------

S="$T/S"
C="$T/C"
N="$T/N"
new_node "$S" "École Serveur"
new_node "$C" "Client Node"
new_node "$N" "Stranger" # never added as a peer of S
KEY_S=$("$AMICALE_BIN" --dir "$S" id --json | jq -r .key)
KEY_C=$("$AMICALE_BIN" --dir "$C" id --json | jq -r .key)
KEY_N=$("$AMICALE_BIN" --dir "$N" id --json | jq -r .key)
expect_match "key of S" '^[A-Za-z0-9_-]{43}$' "$KEY_S"
expect_match "key of C" '^[A-Za-z0-9_-]{43}$' "$KEY_C"
[ -f "$C/node.key" ] || fatal "no node.key in $C"

expect_status 0 "$AMICALE_BIN" --dir "$S" peer add 127.0.0.1:9 "$KEY_C" --name Client

# ---- 3. the daemon -----------------------------------------------------------

"$AMICALED_BIN" --dir "$S" --listen 127.0.0.1:0 --log-level debug 2>"$T/S.log" </dev/null &
DAEMON_PID=$!

status_ok() { "$AMICALE_BIN" --dir "$S" status --json >"$T/status.json" 2>/dev/null; }
if ! wait_for 20 status_ok; then
  echo "amicaled log:"
  sed 's/^/    | /' "$T/S.log"
  fatal "amicaled did not answer 'amicale status' within 20 s"
fi
LISTEN=$(jq -r .listen "$T/status.json")
PORT=${LISTEN##*:}
expect_match "amicaled listens on 127.0.0.1 with a port" '^127\.0\.0\.1:[0-9]+$' "$LISTEN"
expect_eq "status key is S's" "$KEY_S" "$(jq -r .key "$T/status.json")"

show_client() { # what the client said, when an assertion about it failed
  echo "  client stdout:"
  sed 's/^/    | /' "$OUT"
  echo "  client stderr:"
  sed 's/^/    | /' "$ERR"
}

# ---- 4. a full session as C --------------------------------------------------

client connect --host 127.0.0.1 --port "$PORT" --key-file "$C/node.key" --server-key="$KEY_S" \
  --scenario full --expect-name "École Serveur" --title "Interop meetup" --object 1
expect_eq "full session: client exit status" 0 "$RC"
[ "$RC" = 0 ] || show_client
expect_out_contains "handshake ok"
expect_out_contains "hello from name='École Serveur' kind=0"
expect_out_contains "capabilities=['announce', 'replicate']"
PING_TOKEN=$(sed -n 's/^ping token=//p' "$OUT" | head -n 1)
PONG_TOKEN=$(sed -n 's/^pong token=//p' "$OUT" | head -n 1)
expect_match "client sent a ping" '^[0-9]+$' "$PING_TOKEN"
expect_eq "pong carries the ping's token" "$PING_TOKEN" "$PONG_TOKEN"
expect_out_contains "sent goodbye reason=0"
ANN_ID=$(sed -n 's/^announced id=\([0-9a-f]\{64\}\) .*/\1/p' "$OUT")
expect_match "client announced an id" '^[0-9a-f]{64}$' "$ANN_ID"

am --dir "$S" event list --json
expect_eq "event list --json exit status" 0 "$RC"
expect_eq "S holds C's event (origin)" "$KEY_C" \
  "$(jq -r --arg id "$ANN_ID" '.[] | select(.id == $id) | .origin' "$OUT")"
expect_eq "S holds C's event (title)" "Interop meetup" \
  "$(jq -r --arg id "$ANN_ID" '.[] | select(.id == $id) | .body.title' "$OUT")"
am --dir "$S" announcement show "${ANN_ID:0:12}"
expect_eq "announcement show of C's event" 0 "$RC"

# The daemon logs the goodbye (with the text the client gave).
if wait_for 5 grep -q "interop client done" "$T/S.log"; then _pass; else
  _fail "S.log mentions the client's goodbye" "log:" "$(sed 's/^/    | /' "$T/S.log")"
fi
expect_true "S.log says goodbye" grep -qi "goodbye" "$T/S.log"

# ---- 5. refusals -------------------------------------------------------------

# An identity S does not know: the handshake completes, then goodbye 4.
client connect --host 127.0.0.1 --port "$PORT" --key-file "$N/node.key" --server-key="$KEY_S" \
  --scenario refused --expect-reason 4
expect_eq "unknown identity: client exit status" 0 "$RC"
[ "$RC" = 0 ] || show_client
expect_out_contains "goodbye reason=4 (unknown-peer)"
if wait_for 5 grep -q "$KEY_N" "$T/S.log"; then _pass; else
  _fail "S.log names the refused key"
fi

# Expecting another server key: the client stops after message 2 (exit 3).
client connect --host 127.0.0.1 --port "$PORT" --key-file "$C/node.key" --server-key="$KEY_N" \
  --scenario full
expect_eq "wrong server key: client aborts after message 2 (exit 3)" 3 "$RC"
[ "$RC" = 3 ] || show_client
expect_out_contains "aborted after message 2"
expect_out_not_contains "handshake ok"

# S is still fine, and talks to C again.
expect_status 0 "$AMICALE_BIN" --dir "$S" status --json
expect_true "daemon still running" kill -0 "$DAEMON_PID"
client connect --host 127.0.0.1 --port "$PORT" --key-file "$C/node.key" --server-key="$KEY_S" \
  --scenario plain --expect-name "École Serveur"
expect_eq "plain session after the refusals" 0 "$RC"
[ "$RC" = 0 ] || show_client

# ---- 6. shutdown ---------------------------------------------------------------

# A client that stays connected is told goodbye shutdown (reason 0).
"$PY" "$CLIENT" connect --host 127.0.0.1 --port "$PORT" --key-file "$C/node.key" \
  --server-key="$KEY_S" --scenario linger --expect-reason 0 --linger 60 \
  >"$T/linger.out" 2>"$T/linger.err" </dev/null &
LINGER_PID=$!
peer_connected() {
  "$AMICALE_BIN" --dir "$S" status --json 2>/dev/null | jq -e '.peers_connected >= 1' >/dev/null
}
if wait_for 20 peer_connected; then _pass; else
  _fail "the lingering client is connected (status peers_connected)"
fi
wait_for 10 grep -q lingering "$T/linger.out"

kill -TERM "$DAEMON_PID"
_deadline=$((SECONDS + 20))
while kill -0 "$DAEMON_PID" 2>/dev/null && [ "$SECONDS" -lt "$_deadline" ]; do sleep 0.1; done
if kill -0 "$DAEMON_PID" 2>/dev/null; then
  _fail "amicaled stops within 20 s of SIGTERM"
  kill -KILL "$DAEMON_PID" 2>/dev/null
fi
wait "$DAEMON_PID"
DAEMON_RC=$?
DAEMON_PID=""
expect_eq "amicaled exit status after SIGTERM" 0 "$DAEMON_RC"

wait "$LINGER_PID"
LINGER_RC=$?
LINGER_PID=""
expect_eq "lingering client got goodbye shutdown (exit status)" 0 "$LINGER_RC"
if grep -q "goodbye reason=0 (shutdown)" "$T/linger.out"; then _pass; else
  _fail "lingering client saw goodbye reason=0" "stdout:" "$(sed 's/^/    | /' "$T/linger.out")" \
    "stderr:" "$(sed 's/^/    | /' "$T/linger.err")"
fi

if [ "$_failures" -gt 0 ]; then
  echo "amicaled log (S.log):"
  sed 's/^/    | /' "$T/S.log"
fi
finish
