#!/usr/bin/env bash
# amicaled end to end: real processes on loopback (dynamic ports), talking
# through the encrypted transport; the CLI drives them through the control
# socket. Conditions are polled with deadlines.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

node_init A school
node_init B company

# ---- without a daemon ---------------------------------------------------------
expect_status 3 "$AMICALE_BIN" status --dir "$T/A"
expect_err_contains "amicaled is not running"
expect_status 3 "$AMICALE_BIN" invite accept --dir "$T/A" amicale-invite:AAAA
expect_err_contains "amicaled is not running"
expect_status 2 "$AMICALED_BIN" --dir "$T/A" --listen nowhere
expect_err_contains "missing \":PORT\""
expect_status 3 "$AMICALED_BIN" --dir "$T/nothing-here" --listen 127.0.0.1:0

# ---- two peers connect -------------------------------------------------------
daemon_start A
daemon_start B
expect_true "control socket is owner-only" test "$(stat -c %a "$T/A/control.sock")" = 600
expect_status 5 "$AMICALED_BIN" --dir "$T/A" --listen 127.0.0.1:0
expect_err_contains "already running"

expect_status 0 "$AMICALE_BIN" peer add --dir "$T/A" "$ADDR_B" "$KEY_B" --name B
expect_status 0 "$AMICALE_BIN" peer add --dir "$T/B" "$ADDR_A" "$KEY_A" --name A
wait_for "A connected to B" 20 peer_connected "$T/A" "$KEY_B"
wait_for "B connected to A" 20 peer_connected "$T/B" "$KEY_A"

expect_status 0 "$AMICALE_BIN" status --dir "$T/A"
expect_out_contains "Key        $KEY_A"
expect_out_contains "Listening  $ADDR_A"
expect_out_contains "Peers      1 connected of 1"
expect_out_contains "state    connected"
expect_status 0 "$AMICALE_BIN" status --dir "$T/A" --json
expect_eq "status key" "$KEY_A" "$(jq -r .key "$OUT")"
expect_eq "status peer name" "B" "$(jq -r '.peers[0].name' "$OUT")"
expect_match "uptime" '^[0-9]+$' "$(jq -r .uptime_s "$OUT")"

# One connection per pair, whoever dialled first.
expect_eq "A has one connection" 1 "$("$AMICALE_BIN" status --dir "$T/A" --json | jq .counters.connections)"
wait_for "B has one connection" 10 bash -c "[ \"\$('$AMICALE_BIN' status --dir '$T/B' --json | jq .counters.connections)\" = 1 ]"

# ---- a new local announcement goes out at once ---------------------------------
expect_status 0 "$AMICALE_BIN" event add --dir "$T/A" --title "Afterwork Lyon" \
  --start 2030-12-10T19:00 --city Lyon
wait_for "the event reached B" 20 bash -c "'$AMICALE_BIN' event list --dir '$T/B' | grep -q 'Afterwork Lyon'"
wait_for "A counted one announcement out" 10 bash -c \
  "[ \"\$('$AMICALE_BIN' status --dir '$T/A' --json | jq '.peers[0].announcements_out')\" -ge 1 ]"

# ---- SIGHUP reloads, the node carries on ----------------------------------------
kill -HUP "$PID_A"
wait_for "SIGHUP logged" 10 log_has A "configuration and peers reloaded"
expect_true "A still connected after SIGHUP" peer_connected "$T/A" "$KEY_B"

# ---- a man in the middle: a known address answering with another key ----------
node_init M association
node_init X school
daemon_start M
expect_status 0 "$AMICALE_BIN" peer add --dir "$T/M" "$ADDR_A" "$KEY_A" --name A
# A believes X lives at M's address.
expect_status 0 "$AMICALE_BIN" peer add --dir "$T/A" "$ADDR_M" "$KEY_X" --name X
wait_for "A logged the wrong key" 20 log_has A "expected node $KEY_X but $KEY_M answered"
wait_for "A reports it for X" 10 bash -c "'$AMICALE_BIN' status --dir '$T/A' --json | jq -r '.peers[] | select(.name == \"X\") | .last_error' | grep -q 'a different node answered'"
expect_true "A still connected to B" peer_connected "$T/A" "$KEY_B"
# M, unknown to A, is refused when it calls A itself.
wait_for "A refused M (unknown key)" 20 log_has A "refused $KEY_M: not a peer of this node"
wait_for "M was told why" 20 bash -c "'$AMICALE_BIN' status --dir '$T/M' --json | jq -r '.peers[0].last_error' | grep -q 'unknown-peer'"
expect_status 0 "$AMICALE_BIN" peer remove --dir "$T/A" "$KEY_X"
daemon_stop M

# ---- block, unblock, remove ----------------------------------------------------
expect_status 0 "$AMICALE_BIN" peer block --dir "$T/A" "$KEY_B"
wait_for "B was told it is blocked" 20 bash -c "'$AMICALE_BIN' status --dir '$T/B' --json | jq -r '.peers[0].last_error' | grep -q blocked"
wait_for "A shows B blocked" 10 bash -c "'$AMICALE_BIN' status --dir '$T/A' --json | jq -r '.peers[] | select(.name == \"B\") | .state' | grep -qx blocked"
not_connected() { ! peer_connected "$@"; }
expect_true "B not connected while blocked" not_connected "$T/B" "$KEY_A"
expect_status 0 "$AMICALE_BIN" peer unblock --dir "$T/A" "$KEY_B"
wait_for "A and B connected again after unblock" 30 peer_connected "$T/A" "$KEY_B"

# ---- a peer killed mid-session comes back: the other side reconnects -----------
daemon_kill B
wait_for "A noticed B is gone" 20 bash -c "! '$AMICALE_BIN' status --dir '$T/A' --json | jq -r '.peers[0].state' | grep -qx connected"
expect_true "A logged a lost connection" log_has A "no goodbye"
daemon_start B --listen "$ADDR_B"
wait_for "A reconnected to B" 40 peer_connected "$T/A" "$KEY_B"
wait_for "B reconnected to A" 20 peer_connected "$T/B" "$KEY_A"

# ---- invitations ---------------------------------------------------------------
node_init C association
node_init D school
daemon_start C
daemon_start D
expect_status 0 "$AMICALE_BIN" invite create --dir "$T/A" --address "$ADDR_A" --uses 1 --json
CODE=$(jq -r .code "$OUT")
expect_match "invitation code" '^amicale-invite:' "$CODE"
expect_status 0 "$AMICALE_BIN" invite accept --dir "$T/C" "$CODE"
expect_out_contains "Connected to Node A ($KEY_A)"
wait_for "A connected to C" 20 peer_connected "$T/A" "$KEY_C"
expect_status 0 "$AMICALE_BIN" trust list --dir "$T/A" --json
expect_eq "A trusts C" 1 "$(jq --arg k "$KEY_C" '[.[] | select(.key == $k)] | length' "$OUT")"
expect_status 0 "$AMICALE_BIN" trust list --dir "$T/C" --json
expect_eq "C trusts A" 1 "$(jq --arg k "$KEY_A" '[.[] | select(.key == $k)] | length' "$OUT")"
expect_status 0 "$AMICALE_BIN" peer list --dir "$T/C" --json
expect_eq "C has A as a peer, with its address" "$ADDR_A" "$(jq -r --arg k "$KEY_A" '.[] | select(.key == $k) | .address' "$OUT")"
expect_status 0 "$AMICALE_BIN" peer list --dir "$T/A" --json
expect_eq "A's peer list names C after its hello" "Node C" "$(jq -r --arg k "$KEY_C" '.[] | select(.key == $k) | .name' "$OUT")"
expect_status 0 "$AMICALE_BIN" trust list --dir "$T/A" --json
expect_eq "A's trust list names C too" "Node C" "$(jq -r --arg k "$KEY_C" '.[] | select(.key == $k) | .name' "$OUT")"
# Used up: refused, and D is not let in.
expect_status 4 "$AMICALE_BIN" invite accept --dir "$T/D" "$CODE"
expect_err_contains "already used"
expect_true "D not a peer of A" bash -c "! '$AMICALE_BIN' peer list --dir '$T/A' --json | jq -r '.[].key' | grep -qx -- '$KEY_D'"
expect_status 0 "$AMICALE_BIN" peer list --dir "$T/D" --json
expect_eq "D kept no peer" 0 "$(jq length "$OUT")"
# Revoked: not recognised.
expect_status 0 "$AMICALE_BIN" invite create --dir "$T/A" --address "$ADDR_A" --json
CODE2=$(jq -r .code "$OUT")
ID2=$(jq -r .id "$OUT")
expect_status 0 "$AMICALE_BIN" invite revoke --dir "$T/A" "$ID2"
expect_status 4 "$AMICALE_BIN" invite accept --dir "$T/D" "$CODE2"
expect_err_contains "not recognised"
# Expired: made two days ago (the CLI's clock moved back), valid one day.
AMICALE_NOW=$(( $(date +%s) - 2 * 86400 )) expect_status 0 "$AMICALE_BIN" invite create --dir "$T/A" --address "$ADDR_A" --expires 1d --json
expect_status 4 "$AMICALE_BIN" invite accept --dir "$T/D" "$(jq -r .code "$OUT")"
expect_err_contains "expired on"
# A damaged code.
expect_status 4 "$AMICALE_BIN" invite accept --dir "$T/D" "${CODE2:0:30}"
expect_err_contains "damaged or incomplete"
# Own code.
expect_status 0 "$AMICALE_BIN" invite create --dir "$T/D" --address "$ADDR_D" --json
expect_status 4 "$AMICALE_BIN" invite accept --dir "$T/D" "$(jq -r .code "$OUT")"
expect_err_contains "this very node"

# ---- the control socket under misuse -------------------------------------------
# Two requests in one write, both waiting on a connection that fails: each
# gets its answer, in order, and the daemon lives on.
expect_status 0 "$AMICALE_BIN" invite create --dir "$T/A" --address 127.0.0.1:1 --json
DEADCODE=$(jq -r .code "$OUT")
ctl() { /usr/bin/python3 - "$@" <<'PY'
import socket, sys, json, time
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX); s.connect(path); s.settimeout(30)
if mode == "pipeline":
    code = sys.argv[3]
    line = json.dumps({"cmd": "invite-accept", "code": code}) + "\n"
    s.sendall((line * 2).encode())
    got = b""
    while got.count(b"\n") < 2:
        chunk = s.recv(4096)
        if not chunk: break
        got += chunk
    answers = [json.loads(l) for l in got.decode().splitlines()]
    print(len(answers), all(a["ok"] is False for a in answers))
elif mode == "flood":   # requests without reading the answers
    s.setblocking(False)
    sent = 0
    try:
        for _ in range(200000):
            s.send(b'{"cmd":"status"}\n'); sent += 1
    except BlockingIOError:
        pass
    print(sent)
elif mode == "utf8":
    s.sendall((json.dumps({"cmd": "x" + "\u00e9" * 400}) + "\n").encode())
    print(json.loads(s.makefile().readline())["ok"])
PY
}
run ctl "$T/D/control.sock" pipeline "$DEADCODE"
expect_eq "two pipelined requests, two refusals" "2 True" "$(cat "$OUT")"
expect_true "D alive after pipelined requests" _status_ok "$T/D"
run ctl "$T/D/control.sock" utf8
expect_eq "an unknown command of accented letters is answered" "False" "$(cat "$OUT")"
PEAK0=$(awk '/^VmHWM:/ {print $2}' "/proc/$PID_D/status")
ctl "$T/D/control.sock" flood >/dev/null &
FLOODER=$!
wait "$FLOODER"
expect_true "D answers others while a client does not read" _status_ok "$T/D"
PEAK1=$(awk '/^VmHWM:/ {print $2}' "/proc/$PID_D/status")
if [ -z "${AMICALE_SANITIZED:-}" ]; then
  expect_true "a client that does not read costs D no memory (peak ${PEAK0} -> ${PEAK1} kB)" \
    test $((PEAK1 - PEAK0)) -lt 8192
fi

# ---- keepalive and idle timeout (timeouts scaled by 0.05: ping after 1.5 s of
# silence, a peer silent for 4.5 s is dropped) ------------------------------------
node_init E school
node_init F school
AMICALE_TIMEOUT_SCALE=0.05 daemon_start E
AMICALE_TIMEOUT_SCALE=0.05 daemon_start F
# (by name: the address is resolved, each of its addresses tried in turn)
expect_status 0 "$AMICALE_BIN" peer add --dir "$T/E" "localhost:${ADDR_F##*:}" "$KEY_F" --name F
expect_status 0 "$AMICALE_BIN" peer add --dir "$T/F" "$ADDR_E" "$KEY_E" --name E
wait_for "E connected to F" 20 peer_connected "$T/E" "$KEY_F"
# The first side silent for 1.5 s pings; the other, hearing it, need not.
rtt_known() { "$AMICALE_BIN" status --dir "$1" --json | jq -e '.peers[0].rtt_ms != null'; }
wait_for "pings measure a round trip" 20 bash -c "$(declare -f rtt_known); rtt_known '$T/E' || rtt_known '$T/F'"
kill -STOP "$PID_F"   # F still holds the connection but says nothing
wait_for "E dropped the silent F" 20 log_has E "nothing received for"
kill -CONT "$PID_F"
wait_for "F learnt it was dropped for idleness" 20 bash -c "'$AMICALE_BIN' status --dir '$T/F' --json | jq -r '.peers[0].last_error' | grep -q idle-timeout" # its own drop or E's goodbye
wait_for "E and F connected again" 20 peer_connected "$T/E" "$KEY_F"
AMICALE_TIMEOUT_SCALE=0 expect_status 1 "$AMICALED_BIN" --dir "$T/E" --listen 127.0.0.1:0
daemon_stop E
daemon_stop F

# ---- clean stop: goodbye, exit 0 ------------------------------------------------
daemon_stop B
expect_eq "B exits 0 on SIGTERM" 0 "$RC"
expect_true "B logged its stop" log_has B "stopped"
wait_for "A heard B's goodbye" 10 log_has A "said goodbye: shutdown"
expect_true "no control socket left" test ! -e "$T/B/control.sock"
daemon_stop A
expect_eq "A exits 0 on SIGTERM" 0 "$RC"
# Statistics survived in the store.
expect_status 0 "$AMICALE_BIN" peer list --dir "$T/A" --json
expect_match "bytes to B recorded" '^[1-9][0-9]*$' "$(jq -r --arg k "$KEY_B" '.[] | select(.key == $k) | .bytes_out' "$OUT")"
daemon_stop C
daemon_stop D

finish
