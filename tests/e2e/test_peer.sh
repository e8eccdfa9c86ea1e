#!/usr/bin/env bash
# amicale peer / invite, and init's [network] options: every command, its
# output and its refusals; a refused command changes nothing in the store.
. "$(dirname "$0")/lib.sh"

export AMICALE_NOW=1767225600 # 2026-01-01T00:00:00Z
A="$T/a"
B="$T/b"
C="$T/c"

# snapshot / unchanged WHAT: node A's store is as at the last snapshot.
snapshot() { store_snapshot "$A"; }
unchanged() { store_unchanged "$A" "$1"; }

# ---- init: [network] --------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$A" init --name "École A" --kind school \
  --listen '*:7401' --public-address School-A.Example:7401
expect_eq "listen written" "listen = *:7401" "$(grep '^listen' "$A/amicale.conf")"
expect_eq "public_address written, lower case" "public_address = school-a.example:7401" \
  "$(grep '^public_address' "$A/amicale.conf")"
expect_eq "max_connections shown as an example" "# max_connections = 256" "$(grep 'max_connections =' "$A/amicale.conf")"
new_node "$B" "École B"
expect_eq "no --listen: commented default" "# listen = *:7400" "$(grep 'listen =' "$B/amicale.conf")"
expect_eq "no --public-address: commented example" "# public_address = alumni.example.org:7400" \
  "$(grep 'public_address =' "$B/amicale.conf")"
expect_status 0 "$AMICALE_BIN" --dir "$T/v6" init --name V6 --kind school --listen '[::]:7400' \
  --public-address '[2001:DB8::7]:7400'
expect_eq "IPv6 public address, normal form" "public_address = [2001:db8::7]:7400" "$(grep '^public_address' "$T/v6/amicale.conf")"

expect_status 2 "$AMICALE_BIN" --dir "$T/bad1" init --name X --kind school --listen 7400
expect_err_contains '--listen: "7400": missing ":PORT"'
expect_true "bad --listen creates nothing" test ! -e "$T/bad1"
expect_status 2 "$AMICALE_BIN" --dir "$T/bad2" init --name X --kind school --public-address school.example
expect_err_contains '"school.example": missing ":PORT" (example: school.example:7400)'
expect_true "bad --public-address creates nothing" test ! -e "$T/bad2"
expect_status 2 "$AMICALE_BIN" --dir "$T/bad3" init --name X --kind school --public-address '*:7400'
expect_err_contains "only for the listen setting"
expect_true "wildcard --public-address creates nothing" test ! -e "$T/bad3"

# A hand-edited [network] with a mistake: every command says which line.
cp -a "$B" "$T/badconf"
printf '\n[network]\nmax_connections = lots\n' >>"$T/badconf/amicale.conf"
expect_status 4 "$AMICALE_BIN" --dir "$T/badconf" peer list
expect_err_contains "max_connections 'lots' is not a number from 1 to 65535"
expect_err_contains "line "

KA=$("$AMICALE_BIN" --dir "$A" id | head -1)
KB=$("$AMICALE_BIN" --dir "$B" id | head -1)
new_node "$C" "École C"
KC=$("$AMICALE_BIN" --dir "$C" id | head -1)
# A key that starts with '-' (any 43 base64url characters ending in one of
# AEIMQUYcgkosw048 are a key).
KD="-Dash${KB:5:37}A"

# ---- peer list, empty ---------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$A" peer list
expect_out_contains "No peers yet"
expect_status 0 "$AMICALE_BIN" --dir "$A" peer list --json
expect_eq "empty --json list" "[]" "$(jq -c . "$OUT")"
expect_status 2 "$AMICALE_BIN" --dir "$A" peer
expect_status 0 "$AMICALE_BIN" --dir "$A" peer --help
expect_out_contains "add HOST:PORT KEY"

# ---- peer add -------------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$A" peer add b.example:7400 "$KB" --name "École B"
expect_out_contains "Peer added: École B ($KB) at b.example:7400; its announcements are trusted."
expect_status 0 "$AMICALE_BIN" --dir "$A" trust list --json
expect_eq "peer add trusts the key, with the name" "École B" "$(jq -r --arg k "$KB" '.[] | select(.key == $k) | .name' "$OUT")"

expect_status 0 "$AMICALE_BIN" --dir "$A" peer add "$KC" C.Example:7402 --no-trust
expect_out_contains "Peer added: $KC at c.example:7402; its announcements are not trusted (amicale trust add $KC to accept them)."
expect_status 0 "$AMICALE_BIN" --dir "$A" trust list --json
expect_eq "--no-trust: not in the trust list" "" "$(jq -r --arg k "$KC" '.[] | select(.key == $k) | .key' "$OUT")"

expect_status 0 "$AMICALE_BIN" --dir "$A" peer add '[2001:db8::d]:7400' "$KD" --name Dash
expect_out_contains "Peer added: Dash ($KD) at [2001:db8::d]:7400"

# Again: an update (address, name), statistics and trust kept.
expect_status 0 "$AMICALE_BIN" --dir "$A" peer add b2.example:7500 "$KB"
expect_out_contains "Peer updated: École B ($KB) at b2.example:7500; its announcements are trusted."
expect_status 0 "$AMICALE_BIN" --dir "$A" peer add b2.example:7500 "$KB" --name "École Bis"
expect_out_contains "Peer updated: École Bis ($KB)"
expect_status 0 "$AMICALE_BIN" --dir "$A" trust list --json
expect_eq "renaming a peer renames its trust entry" "École Bis" "$(jq -r --arg k "$KB" '.[] | select(.key == $k) | .name' "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$A" peer add c.example:7402 "$KC" --name "École C"
expect_out_contains "Peer updated: École C ($KC) at c.example:7402; its announcements are trusted."

# Refusals: nothing changes.
snapshot
expect_status 2 "$AMICALE_BIN" --dir "$A" peer add a.example:7400 "$KA"
expect_err_contains "this node's own key"
unchanged "peer add of the node's own key"
expect_status 2 "$AMICALE_BIN" --dir "$A" peer add x.example:7400 "notakey"
expect_err_contains "notakey"
unchanged "peer add with a bad key"
expect_status 2 "$AMICALE_BIN" --dir "$A" peer add x.example "$KC"
expect_err_contains '"x.example": missing ":PORT" (example: x.example:7400)'
unchanged "peer add without a port"
expect_status 2 "$AMICALE_BIN" --dir "$A" peer add x.example:0 "$KC"
expect_err_contains 'not a number from 1 to 65535'
expect_status 2 "$AMICALE_BIN" --dir "$A" peer add 2001:db8::1:7400 "$KC"
expect_err_contains 'an IPv6 address goes in brackets'
expect_status 2 "$AMICALE_BIN" --dir "$A" peer add 'x_y.example:7400' "$KC"
expect_err_contains "cannot contain '_'"
expect_status 2 "$AMICALE_BIN" --dir "$A" peer add x.example:7400
expect_status 2 "$AMICALE_BIN" --dir "$A" peer add x.example:7400 "$KC" extra
expect_status 2 "$AMICALE_BIN" --dir "$A" peer add x.example:7400 "$KC" --colour blue
expect_status 2 "$AMICALE_BIN" --dir "$A" peer add x.example:7400 "$KC" --name $'two\nlines'
expect_err_contains "--name"
unchanged "peer add usage errors"
expect_status 5 "$AMICALE_BIN" --dir "$A" peer add c.example:7402 "$KC" --name "ecole bis"
expect_err_contains "another peer is already named \"École Bis\" ($KB)"
unchanged "peer add with another peer's name"
expect_status 2 "$AMICALE_BIN" --dir "$A" peer frobnicate
expect_status 2 "$AMICALE_BIN" --dir "$A" peer list extra
expect_status 2 "$AMICALE_BIN" --dir "$A" peer remove --json "$KC"
unchanged "unknown subcommand, extra operands"

# ---- peer list ------------------------------------------------------------------------------
# Every column of the header starts, in terminal cells, where a value
# starts on each line ("École" and "…" are one cell each).
columns_aligned() {
  python3 -c '
import sys, unicodedata
def w(s):
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
lines = sys.stdin.read().splitlines()
head = lines[0]
cols = [w(head[:head.index(t)]) for t in ("KEY", "ADDRESS", "STATE", "LAST SEEN", "LAST ERROR", "BYTES IN/OUT", "ANN IN/OUT")]
ok = True
for line in lines[1:]:
    starts, acc, prev = set(), 0, " "
    for c in line:
        if prev == " " and c != " ":
            starts.add(acc)
        acc += w(c)
        prev = c
    ok = ok and all(col in starts for col in cols)
print("aligned" if ok else "misaligned")'
}
snapshot
expect_status 0 "$AMICALE_BIN" --dir "$A" peer list
expect_eq "table header" "NAME       KEY          ADDRESS             STATE  SYNC  LAST SEEN  LAST ERROR  BYTES IN/OUT  ANN IN/OUT" \
  "$(head -1 "$OUT")"
expect_eq "one line per peer, and the header" 4 "$(wc -l <"$OUT")"
expect_out_contains "École Bis  ${KB:0:10}…  b2.example:7500"
expect_out_contains "[2001:db8::d]:7400"
expect_out_contains "never"
expect_out_contains "0 B / 0 B"
expect_eq "columns line up (display widths)" aligned "$(columns_aligned <"$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$A" peer list --json
expect_eq "--json: three peers, in key order" 3 "$(jq length "$OUT")"
expect_eq "--json: full key" "$KB" "$(jq -r '.[] | select(.name == "École Bis") | .key' "$OUT")"
expect_eq "--json: fields" '["added","address","announcements_in","announcements_out","blocked","bytes_in","bytes_out","connects","key","last_connected","last_error","last_error_at","last_seen","last_sync","name","state","sync","trusted","via"]' \
  "$(jq -c '.[0] | keys' "$OUT")"
expect_eq "--json: trusted flags" "true true true" "$(jq -r '[.[] | .trusted] | map(tostring) | join(" ")' "$OUT")"
expect_eq "--json: added" "2026-01-01T00:00:00Z" "$(jq -r '.[0].added' "$OUT")"
expect_eq "--json: never seen is null" "null" "$(jq -r '.[0].last_seen' "$OUT")"
unchanged "peer list writes nothing"

# Statistics as the daemon writes them (a record forged with mdb_load):
# seen 3 minutes ago, 1.5 MB in, an error.
python3 - "$KC" >"$T/peer.dump" <<'EOF'
import base64, struct, sys
key = base64.urlsafe_b64decode(sys.argv[1] + "=")
def u(v):
    if v < 128: return bytes([v])
    return b"\xcf" + struct.pack(">Q", v)
def s(t):
    b = t.encode()
    return (bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b
now = 1767225600
rec = b"\x9f" + u(1) + s("c.example:7402") + s("École C") + u(now - 86400) + b"\xc2" + u(0) \
    + u(now - 180) + u(now - 3600) + s("connection refused by peer") + u(now - 60) \
    + u(1500000) + u(2048) + u(12) + u(3) + u(4)
print("VERSION=3\nformat=bytevalue\ndatabase=peer\ntype=btree\nHEADER=END")
print(" " + key.hex())
print(" " + rec.hex())
print("DATA=END")
EOF
expect_true "forged statistics loaded" mdb_load -s peer -f "$T/peer.dump" "$A/store"
expect_status 0 "$AMICALE_BIN" --dir "$A" peer list
expect_out_contains "3 min ago"
expect_out_contains "connection refused by peer"
expect_out_contains "1.5 MB / 2.0 kB"
expect_out_contains "12 / 3"
expect_status 0 "$AMICALE_BIN" --dir "$A" peer list --json
expect_eq "--json statistics" '{"bytes_in":1500000,"bytes_out":2048,"announcements_in":12,"announcements_out":3,"connects":4,"last_seen":"2025-12-31T23:57:00Z","last_connected":"2025-12-31T23:00:00Z","last_error":"connection refused by peer","last_error_at":"2025-12-31T23:59:00Z"}' \
  "$(jq -c --arg k "$KC" '.[] | select(.key == $k) | {bytes_in, bytes_out, announcements_in, announcements_out, connects, last_seen, last_connected, last_error, last_error_at}' "$OUT")"
# Updating the peer keeps them.
expect_status 0 "$AMICALE_BIN" --dir "$A" peer add c3.example:7402 "$KC"
expect_status 0 "$AMICALE_BIN" --dir "$A" peer list --json
expect_eq "update keeps statistics" "1500000 c3.example:7402" "$(jq -r --arg k "$KC" '.[] | select(.key == $k) | "\(.bytes_in) \(.address)"' "$OUT")"

# ---- peer block / unblock ---------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$A" peer block "école bis"
expect_out_contains "Blocked: École Bis ($KB). amicaled neither connects to it nor accepts its connections; its trust is unchanged."
expect_status 0 "$AMICALE_BIN" --dir "$A" peer block "$KB"
expect_out_contains "Already blocked: École Bis"
expect_status 0 "$AMICALE_BIN" --dir "$A" peer list
expect_match "list shows blocked" "École Bis .* blocked " "$(grep 'École Bis' "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$A" peer list --json
expect_eq "--json blocked" "true blocked" "$(jq -r --arg k "$KB" '.[] | select(.key == $k) | "\(.blocked) \(.state)"' "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$A" trust list --json
expect_eq "blocking keeps the trust" "École Bis" "$(jq -r --arg k "$KB" '.[] | select(.key == $k) | .name' "$OUT")"
# An unknown key can be blocked before it ever connects.
KE="EEEE${KB:4:38}A"
expect_status 0 "$AMICALE_BIN" --dir "$A" peer block "$KE"
expect_out_contains "Blocked: $KE."
expect_status 0 "$AMICALE_BIN" --dir "$A" peer list --json
expect_eq "blocked unknown key: recorded without address" "null true added" \
  "$(jq -r --arg k "$KE" '.[] | select(.key == $k) | "\(.address) \(.blocked) \(.via)"' "$OUT")"
# peer add on a blocked peer says so.
expect_status 0 "$AMICALE_BIN" --dir "$A" peer add e.example:7400 "$KE" --no-trust
expect_out_contains "It is blocked: run \`amicale peer unblock $KE\` to let amicaled connect."
snapshot
expect_status 2 "$AMICALE_BIN" --dir "$A" peer block "$KA"
expect_err_contains "own key"
expect_status 3 "$AMICALE_BIN" --dir "$A" peer block "Nobody"
expect_err_contains 'no peer has the key or name "Nobody"'
expect_status 3 "$AMICALE_BIN" --dir "$A" peer unblock "Nobody"
KF="FFFF${KB:4:38}A"
expect_status 3 "$AMICALE_BIN" --dir "$A" peer unblock "$KF"
expect_err_contains "no peer has the key $KF"
expect_status 2 "$AMICALE_BIN" --dir "$A" peer block
expect_status 2 "$AMICALE_BIN" --dir "$A" peer block "$KB" "$KC"
unchanged "refused block / unblock"
expect_status 0 "$AMICALE_BIN" --dir "$A" peer unblock "$KB"
expect_out_contains "Unblocked: École Bis ($KB)."
expect_status 0 "$AMICALE_BIN" --dir "$A" peer unblock "$KB"
expect_out_contains "Not blocked: École Bis"

# ---- peer remove ------------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$A" peer remove "$KD"
expect_out_contains "Peer removed: Dash ($KD)."
expect_out_contains "Its announcements are still trusted: run \`amicale trust remove $KD\` to stop accepting them."
expect_status 0 "$AMICALE_BIN" --dir "$A" trust list --json
expect_eq "remove keeps the trust" "Dash" "$(jq -r --arg k "$KD" '.[] | select(.key == $k) | .name' "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$A" peer remove "$KE"
expect_out_contains "Peer removed: $KE."
expect_out_not_contains "still trusted"
expect_status 0 "$AMICALE_BIN" --dir "$A" peer rm "École Bis"
expect_out_contains "Peer removed: École Bis ($KB)."
snapshot
expect_status 3 "$AMICALE_BIN" --dir "$A" peer remove "$KB"
expect_err_contains "no peer has the key $KB"
expect_status 3 "$AMICALE_BIN" --dir "$A" peer remove "École Bis"
expect_status 2 "$AMICALE_BIN" --dir "$A" peer remove
unchanged "refused peer remove"
expect_status 0 "$AMICALE_BIN" --dir "$A" peer list --json
expect_eq "one peer left" "$KC" "$(jq -r '.[].key' "$OUT")"

# A damaged record is reported, not read past.
cp -a "$A" "$T/damaged"
printf 'VERSION=3\nformat=bytevalue\ndatabase=peer\ntype=btree\nHEADER=END\n %s\n 9f01a0\nDATA=END\n' \
  "$(python3 -c 'import base64,sys; print(base64.urlsafe_b64decode(sys.argv[1] + "=").hex())' "$KC")" >"$T/bad.dump"
expect_true "damaged record loaded" mdb_load -s peer -f "$T/bad.dump" "$T/damaged/store"
expect_status 4 "$AMICALE_BIN" --dir "$T/damaged" peer list
expect_err_contains "the record of peer $KC is damaged"
expect_status 0 "$AMICALE_BIN" --dir "$T/damaged" peer remove "$KC"

# ---- invite create --------------------------------------------------------------------------------
snapshot
expect_status 0 "$AMICALE_BIN" --dir "$A" invite list
expect_out_contains "No invitations"
expect_status 0 "$AMICALE_BIN" --dir "$A" invite list --json
expect_eq "no invitations, --json" "[]" "$(jq -c . "$OUT")"
unchanged "invite list writes nothing"

# Node B has no public_address.
store_snapshot "$B"
expect_status 2 "$AMICALE_BIN" --dir "$B" invite create
expect_err_contains "public_address = HOST:PORT"
expect_err_contains "$B/amicale.conf"
expect_err_contains "--address HOST:PORT"
store_unchanged "$B" "invite create without an address"

expect_status 0 "$AMICALE_BIN" --dir "$A" invite create
expect_eq "the code alone on stdout (not a terminal)" 1 "$(wc -l <"$OUT")"
code=$(cat "$OUT")
expect_match "code form" '^amicale-invite:[A-Za-z0-9_-]+$' "$code"
# Decoded independently, as docs describe it.
decode() {
  python3 - "$1" <<'EOF'
import base64, sys
c = sys.argv[1]
assert c.startswith("amicale-invite:")
b = c[len("amicale-invite:"):]
raw = base64.urlsafe_b64decode(b + "=" * (-len(b) % 4))
key = base64.urlsafe_b64encode(raw[17:49]).decode().rstrip("=")
print(raw[0], len(raw[1:17]), key, int.from_bytes(raw[49:51], "big"), raw[51:].decode())
EOF
}
expect_eq "code contents: version, secret, key, port, host" "1 16 $KA 7401 school-a.example" "$(decode "$code")"
expect_status 0 "$AMICALE_BIN" --dir "$A" invite list
expect_eq "invite list header" "ID                CREATED               EXPIRES               USES LEFT  STATE" "$(head -1 "$OUT")"
expect_match "one active invitation, 7 days" '^[0-9a-f]{16}  2026-01-01 00:00 UTC  2026-01-08 00:00 UTC  1/1        active$' "$(sed -n 2p "$OUT")"
id1=$(sed -n 2p "$OUT" | cut -c1-16)

expect_status 0 "$AMICALE_BIN" --dir "$A" invite create --expires 2w --uses 5 --address '[2001:db8::1]:7000' --json
expect_eq "--json fields" '["address","code","expires","id","uses"]' "$(jq -c 'keys' "$OUT")"
expect_eq "--json expires" "2026-01-15T00:00:00Z" "$(jq -r .expires "$OUT")"
expect_eq "--json uses" 5 "$(jq -r .uses "$OUT")"
expect_eq "--json address" "[2001:db8::1]:7000" "$(jq -r .address "$OUT")"
id2=$(jq -r .id "$OUT")
expect_eq "code with an IPv6 address" "1 16 $KA 7000 2001:db8::1" "$(decode "$(jq -r .code "$OUT")")"
expect_ne "two invitations, two secrets" "$code" "$(jq -r .code "$OUT")"
for d in 30m 12h 1d 365d 52w; do
  expect_status 0 "$AMICALE_BIN" --dir "$A" invite create --expires "$d" --json
done
expect_eq "--expires 52w" "2026-12-31T00:00:00Z" "$(jq -r .expires "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$A" invite create --uses 1000 --json

# On a terminal, a sentence says what to do with the code.
expect_status 0 script -qec "'$AMICALE_BIN' --dir '$A' invite create --uses 2" /dev/null
expect_out_contains "Give this code to the other node's administrator; they run:"
expect_out_contains "amicale invite accept CODE"
expect_out_contains "It expires on 2026-01-08 00:00 UTC and can be used 2 times."

snapshot
for bad in 0d 0 7 7x 366d 53w -1d 1.5d d ''; do
  expect_status 2 "$AMICALE_BIN" --dir "$A" invite create --expires "$bad"
done
expect_err_contains "--expires"
for bad in 0 1001 -1 two ''; do
  expect_status 2 "$AMICALE_BIN" --dir "$A" invite create --uses "$bad"
done
expect_err_contains "--uses"
expect_status 2 "$AMICALE_BIN" --dir "$A" invite create --address school.example
expect_err_contains '--address: "school.example": missing ":PORT"'
expect_status 2 "$AMICALE_BIN" --dir "$A" invite create --address '*:7400'
expect_status 2 "$AMICALE_BIN" --dir "$A" invite create extra
expect_status 2 "$AMICALE_BIN" --dir "$A" invite
unchanged "refused invite create"

# ---- invite list / revoke -----------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$A" invite list --json
expect_eq "nine invitations" 9 "$(jq length "$OUT")"
expect_eq "invite list --json fields" '["created","expires","id","last_used","state","uses_left","uses_total"]' "$(jq -c '.[0] | keys' "$OUT")"
expect_eq "the 5-use one" "5 5 active null" "$(jq -r --arg i "$id2" '.[] | select(.id == $i) | "\(.uses_left) \(.uses_total) \(.state) \(.last_used)"' "$OUT")"
# Later, the 30-minute one has expired.
expect_status 0 env AMICALE_NOW=$((AMICALE_NOW + 3600)) "$AMICALE_BIN" --dir "$A" invite list --json
expect_eq "one expired after an hour" 1 "$(jq '[.[] | select(.state == "expired")] | length' "$OUT")"
expect_status 0 env AMICALE_NOW=$((AMICALE_NOW + 3600)) "$AMICALE_BIN" --dir "$A" invite list
expect_eq "expired in the table" 1 "$(grep -c ' expired$' "$OUT")"

expect_status 0 "$AMICALE_BIN" --dir "$A" invite revoke "$id1"
expect_out_contains "Invitation $id1 revoked: its code no longer works."
expect_status 0 "$AMICALE_BIN" --dir "$A" invite revoke "${id2:0:6}"
expect_out_contains "Invitation $id2 revoked"
expect_status 0 "$AMICALE_BIN" --dir "$A" invite list --json
expect_eq "seven left" 7 "$(jq length "$OUT")"
snapshot
expect_status 3 "$AMICALE_BIN" --dir "$A" invite revoke "$id1"
expect_err_contains "no invitation $id1"
expect_status 2 "$AMICALE_BIN" --dir "$A" invite revoke xyz
expect_status 2 "$AMICALE_BIN" --dir "$A" invite revoke 12345678901234567
expect_status 2 "$AMICALE_BIN" --dir "$A" invite revoke
unchanged "refused invite revoke"

# Invitations long expired are pruned when the next one is made.
expect_status 0 env AMICALE_NOW=$((AMICALE_NOW + 400 * 86400)) "$AMICALE_BIN" --dir "$A" invite create --json
expect_status 0 env AMICALE_NOW=$((AMICALE_NOW + 400 * 86400)) "$AMICALE_BIN" --dir "$A" invite list --json
expect_eq "only the new one left" 1 "$(jq length "$OUT")"

# ---- read-only commands on a node another process writes ----------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$A" peer list --json
expect_status 0 "$AMICALE_BIN" --dir "$A" invite ls

finish
