#!/usr/bin/env bash
# Nodes exchanging announcements by file: the trust list gates what is
# accepted, imports are idempotent, new versions replace old ones, withdrawals
# and retracted profiles delete content on the receiver, older files are
# refused as stale, export --origin/--since, trust remove, damaged files, the
# clock rules (from-the-future, expired), and a relay through a third node.
. "$(dirname "$0")/lib.sh"

NOW0=1767261600 # 2026-01-01T10:00:00Z
export AMICALE_NOW=$NOW0
A="$T/a" B="$T/b" C="$T/c"
new_node "$A" "École A"
new_node "$B" "Société B"
new_node "$C" "Assoc C"
KA=$("$AMICALE_BIN" --dir "$A" id | head -1)
KB=$("$AMICALE_BIN" --dir "$B" id | head -1)

# snapshot DIR / unchanged DIR WHAT: as in lib.sh, for any node.
snapshot() { store_snapshot "$1"; }
unchanged() { store_unchanged "$1" "$2"; }
# in_store DIR WORD: lines of the printable dump of every table holding WORD.
in_store() { mdb_dump -a -p "$1/store" 2>&1 | grep -c -F -- "$2"; }
j() { jq -c "$1" "$OUT"; }
# summary: the import's one-line summary (stdout).
summary() { cat "$OUT"; }
# envelope DIR ID: the stored bytes of an announcement, in hex.
envelope() { "$AMICALE_BIN" --dir "$1" announcement show "$2" --raw --json | jq -r .envelope_hex; }
# offset_of FILE HEX: where those bytes start in FILE (-1 if absent).
offset_of() { python3 -c 'import sys; print(open(sys.argv[1],"rb").read().find(bytes.fromhex(sys.argv[2])))' "$1" "$2"; }
# ids DIR KIND: the ids of the held announcements of that kind, sorted.
ids() { "$AMICALE_BIN" --dir "$1" announcement list --kind "$2" --json | jq -c '[.[].id]|sort'; }

# ---- A publishes ------------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$A" event add --title "Gala Aurora" --start "2027-06-12 19:30" \
  --timezone Europe/Paris --city Paris --venue "Pavillon"
expect_status 0 "$AMICALE_BIN" --dir "$A" job add --title "Data Borealis" --employer Thales --contract cdi \
  --apply "recrutement@thales.example" --city Paris
expect_status 0 "$AMICALE_BIN" --dir "$A" member add --given-name Marie --family-name Quirinalis \
  --email marie.quirinalis@example.fr --phone "+33 6 98 76 54 32" --promo 2010 --employer Airbus \
  --bio "Texte privé Zanzibar" --consent-federation yes
expect_status 0 "$AMICALE_BIN" --dir "$A" member add --given-name Paul --family-name Nonconsentus --promo 2011
expect_status 0 "$AMICALE_BIN" --dir "$A" announcement export --output "$T/a1.ann"
expect_eq "A exports node, event, job, one profile" "4 announcements written to $T/a1.ann" "$(cat "$ERR")"
EV_V1=$("$AMICALE_BIN" --dir "$A" event show 1 --json | jq -r .id)
EV_V1_HEX=$(envelope "$A" "$EV_V1")

# ---- B before trusting A: everything refused, nothing written ---------------------------------------
snapshot "$B"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a1.ann"
expect_eq "untrusted: all rejected" "4 announcements: 0 accepted, 0 already held, 4 rejected" "$(summary)"
expect_eq "untrusted: one stderr line per announcement" 4 "$(grep -c 'rejected (unknown-origin)' "$ERR")"
expect_eq "untrusted: each names the file and its byte offset" 4 "$(grep -c "^$T/a1.ann: byte [0-9]*: rejected" "$ERR")"
expect_err_contains "$T/a1.ann: byte 0: rejected (unknown-origin)"
expect_err_contains "trust add"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a1.ann" --json
expect_eq "untrusted --json" '{"announcements":4,"accepted":0,"already_held":0,"rejected":4,"rejected_by_reason":{"unknown-origin":4},"complete":true}' "$(j .)"
unchanged "$B" "import before trust"
expect_status 0 "$AMICALE_BIN" --dir "$B" event list
expect_eq "untrusted: nothing listed" "No upcoming events." "$(cat "$OUT")"

# ---- trust ---------------------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$B" trust list
expect_out_contains "No trusted origins yet"
expect_status 2 "$AMICALE_BIN" --dir "$B" trust add not-a-key
expect_status 2 "$AMICALE_BIN" --dir "$B" trust add "$KB"
expect_err_contains "own key"
expect_status 2 "$AMICALE_BIN" --dir "$B" trust add
expect_status 2 "$AMICALE_BIN" --dir "$B" trust frobnicate "$KA"
expect_status 3 "$AMICALE_BIN" --dir "$B" trust remove "$KA"
unchanged "$B" "failed trust commands"
expect_status 0 "$AMICALE_BIN" --dir "$B" trust add "$KA" --name "Ecole A (provisional)"
expect_eq "trust add output" "Trusted: $KA (Ecole A (provisional))" "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$B" trust add "$KA" --name "École A"
expect_eq "trust add again renames" "Already trusted, renamed: $KA (École A)" "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$B" trust add "$KA"
expect_eq "trust add again without --name keeps the name" "Already trusted: $KA (École A)" "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$B" trust list --json
expect_eq "trust list --json" "[{\"key\":\"$KA\",\"name\":\"École A\",\"added\":\"2026-01-01T10:00:00Z\"}]" "$(j .)"
expect_status 0 "$AMICALE_BIN" --dir "$B" trust list
expect_eq "trust list" "$KA  École A  (since 2026-01-01)" "$(cat "$OUT")"
# A key is base64url: it may start with '-', even '--', and is still the
# KEY operand (made-up keys here: any 32 bytes are a key to trust).
Z41=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA # 41 characters
for k in "-Q$Z41" "--$Z41"; do
  expect_status 0 "$AMICALE_BIN" --dir "$B" trust add "$k" --name Dashed
  expect_eq "trust add of a key starting with '${k:0:2}'" "Trusted: $k (Dashed)" "$(cat "$OUT")"
  expect_status 0 "$AMICALE_BIN" --dir "$B" trust add --name Dashed "$k"
  expect_out_contains "Already trusted"
  expect_status 0 "$AMICALE_BIN" --dir "$B" trust remove "$k"
  expect_eq "trust remove of a key starting with '${k:0:2}'" "No longer trusted: $k (0 announcements deleted)" "$(cat "$OUT")"
  expect_status 0 "$AMICALE_BIN" --dir "$B" trust add --name Dashed -- "$k"
  expect_status 0 "$AMICALE_BIN" --dir "$B" trust remove -- "$k"
done
expect_status 2 "$AMICALE_BIN" --dir "$B" trust add -x

# ---- import after trust, then again ---------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a1.ann"
expect_eq "trusted: all accepted" "4 announcements: 4 accepted, 0 already held, 0 rejected" "$(summary)"
expect_err_empty
snapshot "$B"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a1.ann"
expect_eq "import again: all already held" "4 announcements: 0 accepted, 4 already held, 0 rejected" "$(summary)"
expect_err_empty
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a1.ann" --json
expect_eq "import again --json" '{"announcements":4,"accepted":0,"already_held":4,"rejected":0,"rejected_by_reason":{},"complete":true}' "$(j .)"
unchanged "$B" "a second import of the same file"
expect_eq "B holds what A holds" \
  "$("$AMICALE_BIN" --dir "$A" announcement list --json | jq -c '[.[].id]|sort')" \
  "$("$AMICALE_BIN" --dir "$B" announcement list --origin "$KA" --json | jq -c '[.[].id]|sort')"
expect_eq "the stored bytes are the bytes A signed" "$EV_V1_HEX" "$(envelope "$B" "$EV_V1")"

# What B shows of A's announcements.
expect_status 0 "$AMICALE_BIN" --dir "$B" event list
expect_match "B lists A's event under A's name" "^${EV_V1:0:12} +2027-06-12 19:30 CEST +Gala Aurora — Paris +\[École A\]$" "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$B" event list --json
expect_eq "B: received event --json" "[[\"${EV_V1:0:12}\",false,\"École A\",\"$KA\"]]" "$(j '[.[]|[.ref,.local,.origin_name,.origin]]')"
expect_status 0 "$AMICALE_BIN" --dir "$B" event show "${EV_V1:0:12}"
expect_eq "B: show a received event by its listed ref" "Event ${EV_V1:0:12} — Gala Aurora" "$(sed -n 1p "$OUT")"
expect_match "B: published by A" 'Published by +École A \(version' "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$B" event show "${EV_V1:0:8}" --json
expect_eq "B: show by an 8-digit prefix" "\"$EV_V1\"" "$(j .id)"
expect_status 3 "$AMICALE_BIN" --dir "$B" event show 1
snapshot "$B"
expect_status 2 "$AMICALE_BIN" --dir "$B" event edit "${EV_V1:0:12}" --city Lyon
expect_err_contains "only its origin can change it"
expect_status 2 "$AMICALE_BIN" --dir "$B" event cancel "${EV_V1:0:12}"
expect_status 2 "$AMICALE_BIN" --dir "$B" event remove "${EV_V1:0:12}"
unchanged "$B" "B cannot change A's event"
expect_status 0 "$AMICALE_BIN" --dir "$B" job list
expect_match "B lists A's job" '^[0-9a-f]{12} +cdi +Data Borealis, Thales — Paris +\[École A\]$' "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement list --kind profile --json
expect_eq "B: the consenting member's profile only" '[["Marie","Quirinalis",2010,"Airbus"]]' \
  "$(j '[.[]|[.body.given_name,.body.family_name,.body.promo,.body.employer]]')"
expect_eq "B: origin label" '"École A"' "$(j '.[0].origin_name')"
for secret in marie.quirinalis@example.fr "98 76 54 32" Zanzibar Nonconsentus; do
  expect_eq "B's store does not hold '$secret'" 0 "$(in_store "$B" "$secret")"
done
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement show "${EV_V1:0:12}" --json
expect_eq "B: signature valid, origin trusted" '[true,true]' "$(j '[.signature_valid,.origin_trusted]')"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement list
expect_match "B: announcement list labels A by its trust name" "${EV_V1:0:12} +event +1 +v[0-9]+ +2026-01-01T10:00:00Z +${KA:0:10}… +École A +Gala Aurora" "$(cat "$OUT")"

# ---- a new version replaces the old one --------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$A" event edit 1 --venue "Salle Gaveau"
EV_V2=$("$AMICALE_BIN" --dir "$A" event show 1 --json | jq -r .id)
expect_status 0 "$AMICALE_BIN" --dir "$A" announcement export --output "$T/a2.ann"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a2.ann"
expect_eq "new version: 1 accepted, the rest held" "4 announcements: 1 accepted, 3 already held, 0 rejected" "$(summary)"
expect_status 0 "$AMICALE_BIN" --dir "$B" event list --json
expect_eq "B lists the new version only" "[[\"$EV_V2\",\"Salle Gaveau\"]]" "$(j '[.[]|[.id,.body.venue]]')"
expect_eq "B holds one event announcement" "[\"$EV_V2\"]" "$(ids "$B" event)"
expect_status 3 "$AMICALE_BIN" --dir "$B" announcement show "$EV_V1"
expect_status 3 "$AMICALE_BIN" --dir "$B" event show "${EV_V1:0:12}"

# The older file after the newer one: its event is stale.
snapshot "$B"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a1.ann"
expect_eq "older file: the old version rejected" "4 announcements: 0 accepted, 3 already held, 1 rejected" "$(summary)"
expect_err_contains "$T/a1.ann: byte $(offset_of "$T/a1.ann" "$EV_V1_HEX"): rejected (stale)"
expect_eq "older file: one stderr line" 1 "$(wc -l <"$ERR")"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a1.ann" --json
expect_eq "older file --json: stale counted" '[1,{"stale":1}]' "$(j '[.rejected,.rejected_by_reason]')"
unchanged "$B" "an older file"
expect_eq "B still holds the new version" "[\"$EV_V2\"]" "$(ids "$B" event)"

# ---- cancel, then withdraw; the member leaves ------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$A" event cancel 1
expect_status 0 "$AMICALE_BIN" --dir "$A" announcement export --output "$T/a3.ann"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a3.ann"
expect_status 0 "$AMICALE_BIN" --dir "$B" event list
expect_match "B sees the cancellation" 'Gala Aurora — Paris +\[École A\] +cancelled$' "$(cat "$OUT")"
EV_V3=$("$AMICALE_BIN" --dir "$B" event list --json | jq -r '.[0].id')

expect_eq "B holds the event's title" 1 "$(in_store "$B" Aurora)"
expect_true "B holds the member's name (the profile and its directory row)" test "$(in_store "$B" Quirinalis)" -ge 1
expect_status 0 "$AMICALE_BIN" --dir "$A" event remove 1 --reason "annulé"
expect_status 0 "$AMICALE_BIN" --dir "$A" member remove 1
expect_status 0 "$AMICALE_BIN" --dir "$A" announcement export --output "$T/a4.ann"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a4.ann"
expect_eq "withdrawals: two retractions accepted" "4 announcements: 2 accepted, 2 already held, 0 rejected" "$(summary)"
expect_status 0 "$AMICALE_BIN" --dir "$B" event list
expect_eq "B: the event is gone" "No upcoming events." "$(cat "$OUT")"
expect_eq "B: no profile left" '[]' "$(ids "$B" profile)"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement list --kind retraction --json
expect_eq "B: holds the two retractions" '[["event",1],["profile",1]]' "$(j '[.[]|[.body.kind,.object]]|sort')"
expect_eq "B's store no longer holds the event's title" 0 "$(in_store "$B" Aurora)"
expect_eq "B's store no longer holds the member's name" 0 "$(in_store "$B" Quirinalis)"
expect_eq "B's store no longer holds the venue" 0 "$(in_store "$B" Gaveau)"
expect_status 3 "$AMICALE_BIN" --dir "$B" announcement show "$EV_V3"

# Every older file after the withdrawals: the event and the profile stay gone.
for f in a1 a2 a3; do
  expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/$f.ann" --json
  expect_eq "$f.ann after the withdrawals: nothing accepted" 0 "$(j .accepted)"
  expect_eq "$f.ann after the withdrawals: only stale rejections" '["stale"]' "$(j '.rejected_by_reason|keys')"
done
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a2.ann"
expect_eq "a2.ann: the event and the profile are stale" "4 announcements: 0 accepted, 2 already held, 2 rejected" "$(summary)"
expect_err_contains "retracted version"
expect_eq "no content came back" 0 "$(in_store "$B" Quirinalis)"

# A profile withdrawn, then consented again, comes back on the receiver.
expect_status 0 "$AMICALE_BIN" --dir "$A" member add --given-name Zoé --family-name Resurgentis \
  --promo 2015 --consent-federation yes
expect_status 0 "$AMICALE_BIN" --dir "$A" announcement export --kind profile --output "$T/p1.ann"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/p1.ann"
expect_status 0 "$AMICALE_BIN" --dir "$A" member unpublish 3
expect_status 0 "$AMICALE_BIN" --dir "$A" announcement export --kind retraction --output "$T/r.ann"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/r.ann"
expect_eq "unpublished profile gone from B" 0 "$(in_store "$B" Resurgentis)"
expect_status 0 "$AMICALE_BIN" --dir "$A" member edit 3 --consent-federation yes
expect_status 0 "$AMICALE_BIN" --dir "$A" announcement export --kind profile --output "$T/p2.ann"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/p2.ann"
expect_eq "consent given again: accepted after the retraction" "1 announcement: 1 accepted, 0 already held, 0 rejected" "$(summary)"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement list --kind profile --json
expect_eq "B holds the profile again" '["Resurgentis"]' "$(j '[.[].body.family_name]')"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/p1.ann"
expect_eq "the first version stays refused" "1 announcement: 0 accepted, 0 already held, 1 rejected" "$(summary)"

# ---- export --origin KEY --since V -------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement list --origin "$KA" --json
all_v=$(j '[.[].version]')
expect_eq "list --origin: A's announcements, in version order" "$all_v" "$(j '[.[].version]|sort')"
expect_true "B holds several of A's versions" test "$(j length)" -ge 4
V=$(j '.[1].version')
want=$(j "[.[]|select(.version > $V)|.id]")
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement export --origin "$KA" --since "$V" --output "$T/since.ann"
expect_eq "export --since: count" "$(jq length <<<"$want") announcements written to $T/since.ann" "$(cat "$ERR")"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement list --origin "$KA" --since "$V" --json
expect_eq "list --since: versions > V only" "$want" "$(j '[.[].id]')"
D="$T/d"
new_node "$D" "Node D"
expect_status 0 "$AMICALE_BIN" --dir "$D" trust add "$KA" --name A
expect_status 0 "$AMICALE_BIN" --dir "$D" announcement import "$T/since.ann"
expect_status 0 "$AMICALE_BIN" --dir "$D" announcement list --origin "$KA" --json
expect_eq "export --since: exactly the versions > V" "$want" "$(j '[.[].id]')"
expect_eq "export --since: none <= V" '[]' "$(j "[.[]|select(.version <= $V)]")"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement export --origin "$KA" --output "$T/origin.ann"
expect_eq "export --origin: all of A's" "$(jq length <<<"$all_v") announcements written to $T/origin.ann" "$(cat "$ERR")"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement export --origin "$KA" --since 999999 --output "$T/none.ann"
expect_eq "export --since past the last version: empty" 0 "$(stat -c %s "$T/none.ann")"
expect_status 2 "$AMICALE_BIN" --dir "$B" announcement export --origin "$KA" --since -1 --output "$T/x.ann"
expect_status 2 "$AMICALE_BIN" --dir "$B" announcement export --origin "$KA" --since abc --output "$T/x.ann"

# ---- clocks: from-the-future, expired ------------------------------------------------------------------------
AMICALE_NOW=$((NOW0 + 3600)) run "$AMICALE_BIN" --dir "$A" event add --title "Early Bird" --start "2027-01-01 10:00"
expect_eq "A publishes an hour ahead" 0 "$RC"
expect_status 0 "$AMICALE_BIN" --dir "$A" announcement export --kind event --output "$T/future.ann"
snapshot "$B"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/future.ann"
expect_eq "an hour ahead: rejected" "1 announcement: 0 accepted, 0 already held, 1 rejected" "$(summary)"
expect_err_contains "rejected (from-the-future)"
unchanged "$B" "a rejected announcement from the future"
AMICALE_NOW=$((NOW0 + 3600 - 900)) run "$AMICALE_BIN" --dir "$B" announcement import "$T/future.ann"
expect_eq "15 minutes ahead: accepted" "1 announcement: 1 accepted, 0 already held, 0 rejected" "$(summary)"
expect_status 0 "$AMICALE_BIN" --dir "$A" event add --title "Short Notice" --start "2026-01-02 10:00" --end "2026-01-02 12:00"
expect_status 0 "$AMICALE_BIN" --dir "$A" announcement export --kind event --output "$T/soon.ann"
AMICALE_NOW=1767355200 run "$AMICALE_BIN" --dir "$C" trust add "$KA" --name A # 2026-01-02T12:00:00Z
AMICALE_NOW=1767355200 run "$AMICALE_BIN" --dir "$C" announcement import "$T/soon.ann"
expect_eq "after its end: expired" "2 announcements: 1 accepted, 0 already held, 1 rejected" "$(summary)"
expect_err_contains "rejected (expired)"
expect_status 0 "$AMICALE_BIN" --dir "$C" trust remove "$KA"
# From here on, every node's clock has caught up with "Early Bird".
export AMICALE_NOW=$((NOW0 + 3600))

# ---- relay: A -> B -> C, C trusting only A ----------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$A" event add --title "Relay Cygnus" --start "2027-04-01 18:00" --city Nantes
RELAY=$("$AMICALE_BIN" --dir "$A" event show 4 --json | jq -r .id)
expect_status 0 "$AMICALE_BIN" --dir "$A" announcement export --output "$T/a5.ann"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a5.ann"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement export --output "$T/b5.ann"
nb=$("$AMICALE_BIN" --dir "$B" announcement list --json | jq length)
na=$("$AMICALE_BIN" --dir "$B" announcement list --origin "$KA" --json | jq length)
# Trusted without a name: the node announcement names it. (Reading a
# nameless trust entry once passed NULL to memcpy: UBSan stopped the command.)
expect_status 0 "$AMICALE_BIN" --dir "$C" trust add "$KA"
expect_eq "trust add without a name" "Trusted: $KA" "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$C" trust list --json
expect_eq "trust list --json: empty name" '[""]' "$(j '[.[].name]')"
expect_status 0 "$AMICALE_BIN" --dir "$C" trust list
expect_eq "trust list: '-' for no name" "$KA  -  (since 2026-01-01)" "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$C" announcement import "$T/b5.ann"
expect_eq "C accepts A's announcements relayed by B, not B's own" \
  "$nb announcements: $na accepted, 0 already held, $((nb - na)) rejected" "$(summary)"
expect_err_contains "rejected (unknown-origin)"
expect_status 0 "$AMICALE_BIN" --dir "$C" event list
expect_match "C lists the relayed event under A's node name" "^${RELAY:0:12} +2027-04-01 18:00 UTC +Relay Cygnus — Nantes +\[École A\]$" "$(grep Cygnus "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$C" announcement show "${RELAY:0:12}" --json
expect_eq "C: relayed announcement verified, from A" "[true,true,\"$KA\"]" "$(j '[.signature_valid,.origin_trusted,.origin]')"
expect_eq "C: the relayed bytes are A's" "$(envelope "$A" "$RELAY")" "$(envelope "$C" "$RELAY")"
expect_status 0 "$AMICALE_BIN" --dir "$C" announcement list --origin "$KB" --json
expect_eq "C: nothing of B" 0 "$(j length)"
expect_status 0 "$AMICALE_BIN" --dir "$C" announcement import "$T/a5.ann" --json
expect_eq "C: A's own file after the relay: all already held" '[0,0]' "$(j '[.accepted,.rejected]')"

# ---- trust remove ----------------------------------------------------------------------------------------------------
expect_eq "B holds the relayed title" 1 "$(in_store "$B" Cygnus)"
expect_status 0 "$AMICALE_BIN" --dir "$B" trust remove "$KA"
expect_eq "trust remove: count of deleted announcements" "No longer trusted: $KA ($na announcements deleted)" "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement list --origin "$KA" --json
expect_eq "trust remove: nothing of A left" 0 "$(j length)"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement list --json
expect_eq "trust remove: B's own node announcement kept" "[\"$KB\"]" "$(j '[.[].origin]|unique')"
expect_status 0 "$AMICALE_BIN" --dir "$B" event list
expect_eq "trust remove: no event listed" "No upcoming events." "$(cat "$OUT")"
expect_eq "trust remove: content gone from the store" 0 "$(in_store "$B" Cygnus)"
expect_eq "trust remove: job gone from the store" 0 "$(in_store "$B" Borealis)"
expect_status 0 "$AMICALE_BIN" --dir "$B" trust list --json
expect_eq "trust remove: trust list empty" '[]' "$(j .)"
expect_status 3 "$AMICALE_BIN" --dir "$B" trust remove "$KA"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a5.ann" --json
expect_eq "after trust remove: unknown origin again" "$(j .announcements)" "$(j '.rejected_by_reason["unknown-origin"]')"
# Trusted again: the current versions come back, the withdrawn ones do not.
expect_status 0 "$AMICALE_BIN" --dir "$B" trust add "$KA" --name "École A"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a5.ann" --json
expect_eq "trusted again: everything current accepted" "$(j .announcements)" "$(j .accepted)"
expect_status 0 "$AMICALE_BIN" --dir "$B" announcement import "$T/a1.ann" --json
expect_eq "trusted again: the old file is still stale" '[0,{"stale":2}]' "$(j '[.accepted,.rejected_by_reason]')"

# ---- damaged files ----------------------------------------------------------------------------------------------------
E="$T/e"
new_node "$E" "Node E"
expect_status 0 "$AMICALE_BIN" --dir "$E" trust add "$KA" --name A
size=$(stat -c %s "$T/a5.ann")
n5=$("$AMICALE_BIN" --dir "$A" announcement list --json | jq length)
cp "$T/a5.ann" "$T/garbage.ann"
printf 'garbage!' >>"$T/garbage.ann"
expect_status 4 "$AMICALE_BIN" --dir "$E" announcement import "$T/garbage.ann"
expect_eq "garbage: the announcements before it accepted" "$n5 announcements: $n5 accepted, 0 already held, 0 rejected" "$(summary)"
expect_err_contains "$T/garbage.ann: byte $size: "
expect_err_contains "not an announcement"
expect_status 0 "$AMICALE_BIN" --dir "$E" announcement list --origin "$KA" --json
expect_eq "garbage: those announcements are kept" "$n5" "$(j length)"
expect_status 4 "$AMICALE_BIN" --dir "$E" announcement import "$T/garbage.ann" --json
expect_eq "garbage --json: incomplete" '[false,0,'"$n5"']' "$(j '[.complete,.accepted,.already_held]')"
# Cut short in the middle of the last announcement of the file.
F="$T/f"
new_node "$F" "Node F"
expect_status 0 "$AMICALE_BIN" --dir "$F" trust add "$KA" --name A
python3 - "$T/a5.ann" "$T/cut.ann" <<'EOF'
import sys
b = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(b[:len(b) - 5])
EOF
# The offset of the last announcement, found by walking the file's
# envelopes (msgpack arrays [bin, bin]).
last_off=$(python3 - "$T/a5.ann" <<'EOF'
import sys, struct
b = open(sys.argv[1], 'rb').read()
def binlen(p):
    t = b[p]
    if t == 0xc4: return 2, b[p+1]
    if t == 0xc5: return 3, struct.unpack('>H', b[p+1:p+3])[0]
    if t == 0xc6: return 5, struct.unpack('>I', b[p+1:p+5])[0]
    raise SystemExit('not bin')
p = last = 0
while p < len(b):
    last = p
    q = p + 1
    for _ in range(2):
        h, n = binlen(q)
        q += h + n
    p = q
print(last)
EOF
)
expect_status 4 "$AMICALE_BIN" --dir "$F" announcement import "$T/cut.ann"
expect_eq "cut short: the ones before it accepted" "$((n5 - 1)) announcements: $((n5 - 1)) accepted, 0 already held, 0 rejected" "$(summary)"
expect_err_contains "$T/cut.ann: byte $last_off: "
expect_err_contains "cut short"
# A file that is not announcements at all.
printf 'Nom,Prénom\nDupont,Marie\n' >"$T/members.csv"
snapshot "$F"
expect_status 4 "$AMICALE_BIN" --dir "$F" announcement import "$T/members.csv"
expect_err_contains "$T/members.csv: byte 0: "
expect_err_contains "not an announcement"
expect_eq "not announcements: nothing read" "0 announcements: 0 accepted, 0 already held, 0 rejected" "$(summary)"
expect_status 3 "$AMICALE_BIN" --dir "$F" announcement import "$T/missing.ann"
expect_status 4 "$AMICALE_BIN" --dir "$F" announcement import "$T"
expect_status 2 "$AMICALE_BIN" --dir "$F" announcement import
: >"$T/empty.ann"
expect_status 0 "$AMICALE_BIN" --dir "$F" announcement import "$T/empty.ann"
expect_eq "empty file" "0 announcements: 0 accepted, 0 already held, 0 rejected" "$(summary)"
unchanged "$F" "imports of files that hold no announcement"
# One tampered announcement: rejected alone, with its offset; the rest accepted.
relay_hex=$(envelope "$A" "$RELAY")
G="$T/g"
new_node "$G" "Node G"
expect_status 0 "$AMICALE_BIN" --dir "$G" trust add "$KA" --name A
python3 - "$T/a5.ann" "$T/tampered.ann" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.find(b'Relay Cygnus')
b[i] ^= 0x01
open(sys.argv[2], 'wb').write(b)
EOF
expect_status 0 "$AMICALE_BIN" --dir "$G" announcement import "$T/tampered.ann"
expect_eq "tampered: one rejected, the rest accepted" "$n5 announcements: $((n5 - 1)) accepted, 0 already held, 1 rejected" "$(summary)"
expect_err_contains "rejected (bad-signature)"
expect_eq "tampered: offset reported" 1 "$(grep -c "byte $(offset_of "$T/a5.ann" "$relay_hex"): rejected (bad-signature)" "$ERR")"
expect_status 0 "$AMICALE_BIN" --dir "$G" event list
expect_out_not_contains "Cygnus"
expect_out_not_contains "Selay"

finish
