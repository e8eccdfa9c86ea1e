#!/usr/bin/env bash
# Members on their own computers (docs/PROTOCOL.md section 16), with real
# processes: the manager's `member invite` prints a login code; `amicale
# login CODE` (another member directory, as on another machine) registers
# a fresh key and writes member.conf; the query and `me` commands then run
# on the node. A code works once and not after it expires; an unknown key
# is refused (unknown-peer); a revoked key is refused at once, and an open
# session is closed (goodbye revoked); removing the member deletes their
# keys; requests over the per-key budget are answered rate-limited, then
# served again; a peer node sending a request gets `unsupported`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

: "${AMICALE_MEMBER_PROBE:=$(dirname "$AMICALE_BIN")/tests/amicale_member_probe}"
mprobe() { run "$AMICALE_MEMBER_PROBE" "$@"; }

node_init A school
node_init P school # a peer node of A
# Every command here is a new connection from 127.0.0.1: the per-address
# handshake budget (14.8, 1 a second) refills 20 times faster.
AMICALE_TIMEOUT_SCALE=0.05 daemon_start A
expect_status 0 "$AMICALE_BIN" peer add --dir "$T/A" 127.0.0.1:9 "$KEY_P" --name P
expect_status 0 "$AMICALE_BIN" member add --dir "$T/A" --given-name Ada --family-name Lovelace \
  --email ada@example.org
expect_status 0 "$AMICALE_BIN" member add --dir "$T/A" --given-name Alan --family-name Turing \
  --email alan@example.org

# The member's side runs with a member directory and no data directory.
member() { local d=$1; shift; AMICALE_MEMBER_DIR="$T/$d" run "$AMICALE_BIN" "$@"; }

# ---- invite, login -----------------------------------------------------------
expect_status 0 "$AMICALE_BIN" member invite --dir "$T/A" 1 --address "$ADDR_A" --json
CODE=$(jq -r .code "$OUT")
expect_match "a login code" '^amicale-login:[A-Za-z0-9_-]+$' "$CODE"
member m1 login "$CODE"
expect_eq "login succeeds" "$RC" 0
expect_out_contains "Logged in to Node A as Ada Lovelace (member 1)"
expect_eq "member.key is 0600" "$(stat -c %a "$T/m1/member.key")" 600
expect_eq "member.conf is 0600" "$(stat -c %a "$T/m1/member.conf")" 600
expect_eq "the member directory is 0700" "$(stat -c %a "$T/m1")" 700
expect_true "member.conf names the member" grep -qx "member = 1" "$T/m1/member.conf"
expect_true "member.conf names the node's key" grep -qx "node_key = $KEY_A" "$T/m1/member.conf"

# Remote calls: the member's own record, through the node.
member m1 me show --json
expect_eq "me show runs on the node" "$RC" 0
expect_eq "me show is Ada's record" "$(jq -r '.. | .given_name? // empty' "$OUT" | head -1)" Ada
member m1 search Turing --json
expect_eq "search runs on the node" "$RC" 0
expect_true "the node logged the member's requests" log_has A "member 1: me.show: ok"
expect_status 0 "$AMICALE_BIN" member keys --dir "$T/A" 1 --json
expect_eq "one key registered" "$(jq '.keys | length' "$OUT")" 1
expect_eq "not revoked" "$(jq -r '.keys[0].revoked' "$OUT")" null

# ---- the code works once -----------------------------------------------------
member m2 login "$CODE"
expect_ne "a used code is refused" "$RC" 0
expect_err_contains "refused the login code"
expect_true "no configuration after a refused login" test ! -e "$T/m2/member.conf"
expect_true "no key left after a refused login" test ! -e "$T/m2/member.key"

# ---- an expired code ---------------------------------------------------------
# Made two hours ago (the CLI's clock is AMICALE_NOW), valid one hour.
AMICALE_NOW=$(($(date +%s) - 7200)) expect_status 0 "$AMICALE_BIN" member invite --dir "$T/A" 2 \
  --address "$ADDR_A" --expires 1h --json
CODE_OLD=$(jq -r .code "$OUT")
member m3 login "$CODE_OLD"
expect_ne "an expired code is refused" "$RC" 0
expect_err_contains "expired"
expect_true "the node logged why" log_has A "login code: this login code expired"
# A new code replaces the member's older one (which had not expired yet).
expect_status 0 "$AMICALE_BIN" member invite --dir "$T/A" 2 --address "$ADDR_A" --json
CODE2=$(jq -r .code "$OUT")
expect_status 0 "$AMICALE_BIN" member invite --dir "$T/A" 2 --address "$ADDR_A" --json
CODE3=$(jq -r .code "$OUT")
member m3 login "$CODE2"
expect_ne "a replaced code is refused" "$RC" 0
member m3 login "$CODE3"
expect_eq "the newest code works" "$RC" 0
expect_out_contains "as Alan Turing (member 2)"

# ---- an unknown key ----------------------------------------------------------
mkdir -p "$T/m4" && chmod 700 "$T/m4"
cp "$T/m1/member.conf" "$T/m4/member.conf"
node_init U school # a key the node has never seen
cp "$T/U/node.key" "$T/m4/member.key"
member m4 me show
expect_ne "an unknown key is refused" "$RC" 0
expect_err_contains "does not know this computer's key"
expect_true "the node logged the refusal" log_has A "refused $KEY_U: not a peer of this node"

# ---- rate limit --------------------------------------------------------------
mprobe flood "$ADDR_A" "$KEY_A" "$T/m1/member.key" 60
expect_eq "over the budget: rate-limited, then served again" "$RC" 0
expect_out_contains "recovered"
expect_match "some served, the rest rate-limited" '^ok [1-9][0-9]* rate-limited [1-9][0-9]*$' "$(head -1 "$OUT")"

# ---- a peer sending a request ------------------------------------------------
mprobe peer-request "$ADDR_A" "$T/P" "$KEY_A"
expect_eq "a peer's request is unsupported" "$RC" 0
expect_out_contains "error unsupported"

# ---- revocation: at once -----------------------------------------------------
"$AMICALE_MEMBER_PROBE" hold "$ADDR_A" "$KEY_A" "$T/m1/member.key" >"$T/hold.out" 2>&1 &
HOLD=$!
wait_for "the session is open" 10 grep -qx open "$T/hold.out" || cat "$T/hold.out"
expect_status 0 "$AMICALE_BIN" member revoke --dir "$T/A" 1
wait_for "the open session is closed with goodbye revoked" 10 grep -qx "goodbye revoked" "$T/hold.out"
wait "$HOLD"
member m1 me show
expect_ne "a revoked key is refused" "$RC" 0
expect_err_contains "revoked"
expect_status 0 "$AMICALE_BIN" member keys --dir "$T/A" 1 --json
expect_ne "the key shows as revoked" "$(jq -r '.keys[0].revoked' "$OUT")" null

# Logging out wipes the key; a new code logs in again.
member m1 logout
expect_eq "logout" "$RC" 0
expect_true "member.key gone" test ! -e "$T/m1/member.key"
expect_true "member.conf gone" test ! -e "$T/m1/member.conf"
expect_status 0 "$AMICALE_BIN" member invite --dir "$T/A" 1 --address "$ADDR_A" --json
member m1 login "$(jq -r .code "$OUT")"
expect_eq "a new code logs in again" "$RC" 0

# ---- removing the member deletes their keys ------------------------------------
"$AMICALE_MEMBER_PROBE" hold "$ADDR_A" "$KEY_A" "$T/m1/member.key" >"$T/hold2.out" 2>&1 &
HOLD=$!
wait_for "a second session is open" 10 grep -qx open "$T/hold2.out"
expect_status 0 "$AMICALE_BIN" member remove --dir "$T/A" 1
wait_for "removing the member closes the session" 10 grep -qx "goodbye revoked" "$T/hold2.out"
wait "$HOLD"
member m1 me show
expect_ne "a removed member's key is refused" "$RC" 0

# --node overrides the configured address (here: a port where nothing listens).
member m1 search x --node 127.0.0.1:9
expect_ne "--node is used" "$RC" 0
expect_err_contains "127.0.0.1:9"

finish
