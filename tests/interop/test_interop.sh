# Interoperability of the transport and replication (docs/PROTOCOL.md
# sections 14 and 15): an independent client written in Python from the
# document alone (tests/interop/amicale_client.py: its own Noise XX,
# canonical msgpack, identity binding, announcement signing, fingerprints,
# range entries and sessions) talks to a real amicaled.
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
#   6. replication (section 15), the client as the initiator: S holds more
#      than 32 announcements (100 events signed by C, 40 of them with ids
#      under a b c, imported, minus 3; 3 of its own); the client holds 97 of
#      the 100 and a new event; it must learn exactly what it lacks, fetch
#      and verify it, and be asked for exactly what S lacks, which S then
#      stores; a second session finds no difference;
#   7. malformed sync entries and replication messages: goodbye
#      protocol-error, one fresh connection each; a sync from a peer that did
#      not list replicate: error unsupported;
#   8. S as the initiator: it connects to the client (node D) and starts a
#      session whose first round the client checks against S's ids;
#   9. offers: S offers its new event and relays D's to a watching C;
#  10. members, the client role (section 16): S has members, a job and C's
#      federated profile; the client logs in as a member with a login code
#      (a fresh key, the login proof in message 3; a wrong MAC first), then
#      whoami, me.show, search, events, jobs, whose results must match 16.4
#      and 16.5; the code used again, or as a node invitation: refused;
#      malformed requests: statuses, the session goes on; a request before
#      the hello, a replication message or a response from a client:
#      protocol-error; the rate limit (bucket of 30, 10 a second); after
#      `amicale member revoke`, the open session gets goodbye revoked, a new
#      connection too, and the member's pending code no longer works;
#  11. a connected client receives goodbye shutdown when S gets SIGTERM, and
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
SERVE_PID=""
WATCH_PID=""
_stop_children() {
  [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
  [ -n "$LINGER_PID" ] && kill "$LINGER_PID" 2>/dev/null
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null
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

# ---- 6. replication: the client as the initiator (section 15) ---------------

# 100 events signed by C, 40 of whose ids start with the nibbles a b c (so that
# the ranges a, ab and abc hold more than 32 ids: FPS entries at depths 0 to 3,
# then IDS at depth 4); S imports 97 of them, the client holds another 97:
# each side lacks 2 of the abc* ones and 1 other. S also publishes 3 events.
GEN="$T/gen"
client gen --key-file "$C/node.key" --out "$GEN" --deep 40 --spread 60 --prefix abc
expect_eq "gen: exit status" 0 "$RC"
expect_out_contains "gen: 100 events (40 under abc)"
sed -n 's/^gen id=\([0-9a-f]\{64\}\) [a-z]* server-lacks$/\1/p' "$OUT" | sort >"$T/server-lacks.ids"
sed -n 's/^gen id=\([0-9a-f]\{64\}\) [a-z]* client-lacks$/\1/p' "$OUT" | sort >"$T/client-lacks.ids"
sed -n 's/^gen id=\([0-9a-f]\{64\}\) [a-z]* \(both\|server-lacks\)$/\1/p' "$OUT" | sort \
  >"$T/client-holds.ids"
expect_eq "gen: 3 ids S lacks" 3 "$(wc -l <"$T/server-lacks.ids")"
expect_eq "gen: 3 ids the client lacks" 3 "$(wc -l <"$T/client-lacks.ids")"
am --dir "$S" announcement import "$GEN/server.ann"
expect_eq "S imports the events (exit status)" 0 "$RC"
expect_out_contains "97 accepted"
for i in 1 2 3; do
  expect_status 0 "$AMICALE_BIN" --dir "$S" event add --title "Server event $i" \
    --start "2031-0$i-10 18:30" --timezone Europe/Paris
done
am --dir "$S" announcement list --json
jq -r '.[].id' "$OUT" | sort >"$T/S.ids0"
N_S0=$(wc -l <"$T/S.ids0")
expect_true "S holds more than 32 announcements ($N_S0)" test "$N_S0" -gt 32

# Three connections: (1) the client claims an empty set (an IDS of the root
# with no id, then an FPS of 16 empty fingerprints): S offers all it holds,
# which the client fetches and verifies; then a round of 12,000 FPS entries
# in 3 syncs, whose answer (192,000 IDS entries) S must cut in several;
# (2) the client's real set, rounds cut one entry per message: it must
# learn exactly what it lacks, fetch it, and
# be asked for exactly what S lacks (its new event and 3 of the 100); a second
# session on the same connection finds no difference (S answers the root's
# FPS with one empty sync); a want of an id nobody holds is answered
# sent missing=1; (3) a fresh connection: no difference either.
client connect --host 127.0.0.1 --port "$PORT" --key-file "$C/node.key" --server-key="$KEY_S" \
  --scenario replicate --hold "$GEN/client.ann" --server-ids "$T/S.ids0" \
  --expect-name "École Serveur" --title "Replicated meetup" --object 2 \
  --untrusted-key "$N/node.key"
expect_eq "replicate: client exit status" 0 "$RC"
[ "$RC" = 0 ] || show_client
expect_out_contains "ok: empty set: the responder offers each of its $N_S0 ids once"
expect_out_contains "ok: empty set: fetched the $N_S0 announcements, signatures verified"
expect_out_contains "ok: zero FPS of the root: all $N_S0 ids offered once and fetched"
expect_out_contains "ok: big round: the responder's round is cut in several syncs joined by more"
expect_out_contains "ok: big round: one IDS of depth 5 for each of the 16 x 12000 children"
expect_out_contains "ok: big round: learned and fetched the"
expect_out_contains "ok: session 1: learned exactly the"
expect_out_contains "ok: session 1: fetched them all with want, signatures verified, sent missing=0"
expect_out_contains "ok: session 1: the responder wanted exactly the 4 ids it lacked"
expect_out_contains "session 1: responder FPS depths 1 3 IDS depths"
expect_out_contains "session 2: empty answer, no difference"
expect_out_contains "want of an unknown id: sent missing=1"
expect_out_contains "fresh session: empty answer"
# an event of N (not trusted by S) offered by the client: S wants it (it
# cannot know the origin from the id), refuses it, and the connection goes on
expect_out_contains "ok: offer of an untrusted origin's event: the responder wants it"
expect_out_contains "ok: the refused announce is not answered with an error; the connection goes on"
UNTRUSTED_ID=$(sed -n 's/^untrusted id=//p' "$OUT")
expect_match "the untrusted event has an id" '^[0-9a-f]{64}$' "$UNTRUSTED_ID"
expect_out_contains "replicate: 0 checks failed"
REP_ID=$(sed -n 's/^announced id=\([0-9a-f]\{64\}\) .*/\1/p' "$OUT")
expect_match "the client's new event has an id" '^[0-9a-f]{64}$' "$REP_ID"
sed -n 's/^responder wanted id=//p' "$OUT" | sort >"$T/wanted.ids"
sed -n 's/^fetched id=//p' "$OUT" | sort >"$T/fetched.ids"
# what S wanted: the client's new event and the 3 of the 100 it lacked
{ cat "$T/server-lacks.ids"; echo "$REP_ID"; } | sort >"$T/wanted.expect"
expect_files_equal "S wanted its 3 missing events and the client's new one" \
  "$T/wanted.expect" "$T/wanted.ids"
# what the client fetched: all S held but the 97 the client had
comm -23 "$T/S.ids0" "$T/client-holds.ids" >"$T/fetched.expect"
expect_files_equal "the client fetched what S held and it lacked" \
  "$T/fetched.expect" "$T/fetched.ids"
# ... and S now stores them (the CLI reads its store)
am --dir "$S" announcement list --json
jq -r '.[].id' "$OUT" | sort >"$T/S.ids1"
sort -u "$T/S.ids0" "$T/wanted.ids" >"$T/S.ids1.expect"
expect_files_equal "S holds what it had and what it wanted, nothing else" \
  "$T/S.ids1.expect" "$T/S.ids1"
expect_eq "S did not store N's event" "" "$(grep -F "${UNTRUSTED_ID:-none}" "$T/S.ids1")"
am --dir "$S" event list --json
expect_eq "S holds the client's new event (title)" "Replicated meetup" \
  "$(jq -r --arg id "$REP_ID" '.[] | select(.id == $id) | .body.title' "$OUT")"
expect_eq "S holds the client's new event (origin)" "$KEY_C" \
  "$(jq -r --arg id "$REP_ID" '.[] | select(.id == $id) | .origin' "$OUT")"

# ---- 7. replication: refusals ----------------------------------------------------

# Each malformed entry or replication message in a fresh connection (paced,
# section 14.8): goodbye protocol-error (3).
client connect --host 127.0.0.1 --port "$PORT" --key-file "$C/node.key" --server-key="$KEY_S" \
  --scenario malformed
expect_eq "malformed: client exit status" 0 "$RC"
[ "$RC" = 0 ] || show_client
for c in mode-2 fps-depth-32 ids-depth-33 bits-past-depth ids-out-of-order ids-duplicate \
  ids-outside-range ids-4097 fps-cut-short ids-cut-short header-cut-short flag-8 \
  sync-without-start start-mid-round two-rounds-in-a-row ranges-not-bin sent-without-want \
  offer-empty offer-17-bytes want-4097 offer-32769 ranges-1048561; do
  expect_out_contains "malformed $c: goodbye reason=3 (protocol-error)"
done
expect_out_contains "malformed: 22 cases, 22 refused with goodbye protocol-error"

# A peer whose hello did not list replicate sends a sync: error unsupported,
# and the connection goes on.
client connect --host 127.0.0.1 --port "$PORT" --key-file "$C/node.key" --server-key="$KEY_S" \
  --scenario no-replicate
expect_eq "no-replicate: client exit status" 0 "$RC"
[ "$RC" = 0 ] || show_client
expect_out_contains "no-replicate: error code=1 (unsupported), the connection goes on"

# S still works, holds the same set.
expect_true "daemon still running after the refusals" kill -0 "$DAEMON_PID"

# ---- 8. replication: the daemon as the initiator ----------------------------------

# Node D (the client again, with another key) listens; S is told D is a peer
# at that address, connects and, as the initiator, starts a session at once:
# its first round (an FPS of the root) must be what the client computes from
# S's ids; D holds the 100 events and a new event of its own, which S wants.
D="$T/D"
new_node "$D" "Relais D"
KEY_D=$("$AMICALE_BIN" --dir "$D" id --json | jq -r .key)
am --dir "$S" announcement list --json
jq -r '.[].id' "$OUT" | sort >"$T/S.ids2"
"$PY" "$CLIENT" connect --host 127.0.0.1 --key-file "$D/node.key" --server-key="$KEY_S" \
  --scenario serve --hold "$GEN/all.ann" --server-ids "$T/S.ids2" --port-file "$T/D.port" \
  --expect-name "École Serveur" --title "Relayed meetup" --object 1 --linger 30 \
  >"$T/serve.out" 2>"$T/serve.err" </dev/null &
SERVE_PID=$!
if wait_for 10 test -s "$T/D.port"; then _pass; else _fail "serve: the client listens"; fi
expect_status 0 "$AMICALE_BIN" --dir "$S" peer add "127.0.0.1:$(cat "$T/D.port" 2>/dev/null)" \
  "$KEY_D" --name Relay
wait "$SERVE_PID"
SERVE_RC=$?
SERVE_PID=""
cp "$T/serve.out" "$OUT"
cp "$T/serve.err" "$ERR"
_last_cmd="amicale_client.py connect --scenario serve"
expect_eq "serve: client exit status" 0 "$SERVE_RC"
[ "$SERVE_RC" = 0 ] || show_client
expect_out_contains "handshake ok (responder)"
expect_out_contains "ok: the initiator's first sync has start"
expect_out_contains "ok: the initiator's first round describes its whole set: FPS of the root"
expect_out_contains "ok: learned exactly the"
expect_out_contains "ok: the initiator wanted exactly the 1 ids it lacked"
expect_out_contains "ok: a sync with start from the responder: goodbye protocol-error"
expect_out_contains "serve: 0 checks failed"
SERVE_ID=$(sed -n 's/^announced id=\([0-9a-f]\{64\}\) .*/\1/p' "$OUT")
am --dir "$S" event list --json
expect_eq "S holds D's event, fetched as the initiator" "Relayed meetup" \
  "$(jq -r --arg id "$SERVE_ID" '.[] | select(.id == $id) | .body.title' "$OUT")"

# ---- 9. replication: offers and relay (section 15.5) -------------------------------

# C stays connected (replicate, no session) and waits for offers. S publishes
# an event: S offers it to C. D (a peer too) connects, pushes an event of its
# own with announce and waits: S accepts it and relays it, offering it to C
# but not back to D. C fetches both with want and verifies them.
"$PY" "$CLIENT" connect --host 127.0.0.1 --port "$PORT" --key-file "$C/node.key" \
  --server-key="$KEY_S" --scenario watch --expect-offers 2 --linger 30 \
  >"$T/watch.out" 2>"$T/watch.err" </dev/null &
WATCH_PID=$!
if wait_for 10 grep -q '^watching' "$T/watch.out"; then _pass; else _fail "watch: the client waits"; fi
am --dir "$S" event add --title "Offered event" --start "2031-05-10 18:30" --timezone Europe/Paris
expect_eq "S publishes an event while C watches" 0 "$RC"
am --dir "$S" event list --json
OFFERED_ID=$(jq -r '.[] | select(.body.title == "Offered event") | .id' "$OUT")
client connect --host 127.0.0.1 --port "$PORT" --key-file "$D/node.key" --server-key="$KEY_S" \
  --scenario watch --announce --title "Relayed by S" --object 2 --linger 2
expect_eq "watch --announce (D): client exit status" 0 "$RC"
[ "$RC" = 0 ] || show_client
expect_out_contains "watch: 0 offers, 0 checks failed"
RELAY_ID=$(sed -n 's/^announced id=\([0-9a-f]\{64\}\).*/\1/p' "$OUT")
wait "$WATCH_PID"
WATCH_RC=$?
WATCH_PID=""
cp "$T/watch.out" "$OUT"
cp "$T/watch.err" "$ERR"
_last_cmd="amicale_client.py connect --scenario watch"
expect_eq "watch (C): client exit status" 0 "$WATCH_RC"
[ "$WATCH_RC" = 0 ] || show_client
expect_out_contains "offered id=$OFFERED_ID kind=2 origin=$KEY_S"
expect_out_contains "offered id=$RELAY_ID kind=2 origin=$KEY_D"
expect_out_contains "watch: 2 offers, 0 checks failed"
expect_status 0 "$AMICALE_BIN" --dir "$S" peer remove "$KEY_D"

# ---- 10. members: the client role (section 16) --------------------------------

# S's members: Ada (listed; her bio is school-only, emails and phone private),
# Grace (listed; her employer private), Hidden (not listed). C, trusted by S,
# has a member whose federated profile (without the school-only city) S
# imports. S publishes a job. The client logs in as Ada with a login code.
am --dir "$S" member add --given-name Ada --family-name Lovelace --promo 2010 --city Paris \
  --employer "Analytical Engines" --bio "Poetical science" --emails ada@example.org \
  --phone "+33 1 23 45 67 89" --consent-listed yes --json
ADA_ID=$(jq -r .id "$OUT")
am --dir "$S" member add --given-name Grace --family-name Hopper --promo 1934 --city Arlington \
  --employer Navy --consent-listed yes --visibility employer=private --json
GRACE_ID=$(jq -r .id "$OUT")
am --dir "$S" member add --given-name Hidden --family-name Person --city Paris --json
HIDDEN_ID=$(jq -r .id "$OUT")
expect_match "member ids" '^[0-9]+ [0-9]+ [0-9]+$' "$ADA_ID $GRACE_ID $HIDDEN_ID"
expect_status 0 "$AMICALE_BIN" --dir "$C" member add --given-name Linus --family-name Federated \
  --city Lyon --employer Kernel --consent-listed yes --consent-federation yes \
  --visibility city=school
expect_status 0 "$AMICALE_BIN" --dir "$C" announcement export --output "$T/C.ann"
expect_status 0 "$AMICALE_BIN" --dir "$S" announcement import "$T/C.ann"
expect_status 0 "$AMICALE_BIN" --dir "$S" job add --title "Interop engineer" \
  --employer "Analytical Engines" --contract cdi --apply jobs@example.org --city Paris

# 1. login with a code (a proof with a wrong MAC first: refused, the code
# still works), then whoami, me.show, search, events, jobs.
am --dir "$S" member invite "$ADA_ID" --address "$LISTEN"
CODE=$(grep -o 'amicale-login:[A-Za-z0-9_-]*' "$OUT")
expect_match "member invite prints a login code" '^amicale-login:[A-Za-z0-9_-]+$' "$CODE"
client connect --scenario member-login --code "$CODE" --member-key "$T/ada.key" \
  --expect-member "$ADA_ID" --bad-mac-first --expect-name "École Serveur" \
  --events-params '{"text": "server event"}'
expect_eq "member-login: client exit status" 0 "$RC"
[ "$RC" = 0 ] || show_client
expect_out_contains "ok: a login proof with a wrong MAC: goodbye invitation-refused"
expect_out_contains "ok: logged in: the node admitted the new key as a client, hello lists ['members']"
expect_out_contains "member-login: 0 checks failed"
ADA_KEY=$(sed -n 's/^member key //p' "$OUT")
cp "$OUT" "$T/login.out"
result() { sed -n "s/^result $1 ok //p" "$T/login.out"; } # the JSON of METHOD's answer
am --dir "$S" member keys "$ADA_ID" --json
expect_eq "the key of the login is registered to Ada" "$ADA_KEY" "$(jq -r '.keys[0].key' "$OUT")"
expect_eq "whoami: Ada's name" "Ada Lovelace" "$(result whoami | jq -r .name)"
expect_eq "me.show: her own private email" "ada@example.org" \
  "$(result me.show | jq -r '.member.emails[0]')"
PEOPLE=$(result search | jq -r '[.results[] | "\(.fields.given_name) \(.fields.family_name)"] | sort | join(",")')
expect_eq "search: the listed members and C's federated profile" \
  "Ada Lovelace,Grace Hopper,Linus Federated" "$PEOPLE"
expect_eq "search: total" 3 "$(result search | jq -r .total)"
expect_eq "search: no private field (emails, phone, Grace's employer)" "" \
  "$(result search | jq -r '.results[].fields | (.emails, .phone) // empty' \
    && result search | jq -r '.results[] | select(.fields.given_name == "Grace") | .fields.employer // empty')"
expect_eq "search: Ada's school-only bio is shown to a member of her school" "Poetical science" \
  "$(result search | jq -r '.results[] | select(.fields.given_name == "Ada") | .fields.bio')"
expect_eq "search: C's member is not local, of institution C, without the school-only city" \
  "false $KEY_C null" \
  "$(result search | jq -r '.results[] | select(.fields.given_name == "Linus") | "\(.local) \(.institution.key) \(.fields.city)"')"
expect_eq "search: Ada and Grace are local, of S" "true $KEY_S,true $KEY_S" \
  "$(result search | jq -r '[.results[] | select(.fields.given_name != "Linus") | "\(.local) \(.institution.key)"] | join(",")')"
expect_eq "events (text \"server event\"): S's three events, by start" \
  "Server event 1,Server event 2,Server event 3" \
  "$(result events | jq -r '[.results[] | (.title // .body.title)] | join(",")')"
expect_eq "jobs: S's job" "Interop engineer" \
  "$(result jobs | jq -r '[.results[] | (.title // .body.title)] | join(",")')"

# 2. the same code again (a fresh key): invitation-refused; a login code is
# no node invitation either (its secret with 14.9's context).
client connect --scenario member-refused --code "$CODE" --expect-reason 7
expect_eq "login code used twice: goodbye invitation-refused" 0 "$RC"
[ "$RC" = 0 ] || show_client
am --dir "$S" member invite "$ADA_ID" --address "$LISTEN"
CODE2=$(grep -o 'amicale-login:[A-Za-z0-9_-]*' "$OUT")
client connect --scenario member-refused --code "$CODE2" --as-invite --expect-reason 7
expect_eq "login code as a node invitation: goodbye invitation-refused" 0 "$RC"
[ "$RC" = 0 ] || show_client

# 3. malformed requests: statuses, the session goes on.
client connect --scenario member-requests --port "$PORT" --server-key="$KEY_S" \
  --member-key "$T/ada.key"
expect_eq "member-requests: client exit status" 0 "$RC"
[ "$RC" = 0 ] || show_client
expect_out_contains "ok: params a JSON array: status 1 bad-request"
expect_out_contains "ok: an unknown parameter: the sentence names the member 'colour'"
expect_out_contains "ok: an unknown method: status 6 unknown-method"
expect_out_contains "ok: a message of type 12: error unknown-message"
expect_out_contains "ok: whoami after the malformed requests: ok, the session went on"
expect_out_contains "member-requests: 0 checks failed"
grep '^note:' "$OUT" | sed 's/^/  /' # deviations the document does not settle

# 5. rate limit (before 4, whose connections are paced): Grace logs in with a
# fresh key, so her bucket is full.
am --dir "$S" member invite "$GRACE_ID" --address "$LISTEN"
client connect --scenario member-rate --code "$(grep -o 'amicale-login:[A-Za-z0-9_-]*' "$OUT")"
expect_eq "member-rate: client exit status" 0 "$RC"
[ "$RC" = 0 ] || show_client
expect_out_contains "ok: burst: the first 30 requests are served (a full bucket)"
expect_out_contains "ok: burst: the requests over the budget are rate-limited"
expect_out_contains "ok: served again after the refill"
expect_out_contains "ok: after 3.0 s the bucket is full again: 30 requests served"
expect_out_contains "member-rate: 0 checks failed"

# 4. protocol errors: a request before the hello, a hello without client,
# replication messages and a response from a client, malformed requests.
client connect --scenario member-protocol --port "$PORT" --server-key="$KEY_S" \
  --member-key "$T/ada.key"
expect_eq "member-protocol: client exit status" 0 "$RC"
[ "$RC" = 0 ] || show_client
for c in request-before-hello hello-without-client sync offer announce response method-empty \
  method-65-bytes params-bin request-3-elements; do
  expect_out_contains "member-protocol $c: goodbye reason=3 (protocol-error)"
done

# 6. revocation: Ada's open session is closed with goodbye revoked, a new
# connection with her key is refused with revoked, and her pending code
# (CODE2) is cancelled.
"$PY" "$CLIENT" connect --scenario member-revoke --port "$PORT" --server-key="$KEY_S" \
  --member-key "$T/ada.key" --linger 20 >"$T/revoke.out" 2>"$T/revoke.err" </dev/null &
LINGER_PID=$!
if wait_for 10 grep -q '^waiting' "$T/revoke.out"; then _pass; else
  _fail "member-revoke: the session is open"
fi
expect_status 0 "$AMICALE_BIN" --dir "$S" member revoke "$ADA_ID"
wait "$LINGER_PID"
REVOKE_RC=$?
LINGER_PID=""
cp "$T/revoke.out" "$OUT"
cp "$T/revoke.err" "$ERR"
_last_cmd="amicale_client.py connect --scenario member-revoke"
expect_eq "member-revoke: client exit status" 0 "$REVOKE_RC"
[ "$REVOKE_RC" = 0 ] || show_client
expect_out_contains "ok: the open session is closed with goodbye revoked"
expect_out_contains "ok: a new connection with the revoked key: goodbye revoked"
client connect --scenario member-refused --code "$CODE2" --expect-reason 7
expect_eq "a code pending at the revocation is cancelled: invitation-refused" 0 "$RC"
[ "$RC" = 0 ] || show_client
expect_true "daemon still running after the member sessions" kill -0 "$DAEMON_PID"

# ---- 11. shutdown --------------------------------------------------------------

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
