#!/usr/bin/env bash
# Replication between real amicaled processes on loopback (docs/PROTOCOL.md
# section 15): relay along a line A - B - C, edits, cancellation and
# retraction reaching every node, a member's erasure leaving every store,
# partition and heal, restart, a node joining late, expiry everywhere, and
# a peer relaying forged or untrusted announcements. Every wait polls a
# condition with a deadline.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

# Periodic work (reconciliation, pruning, keepalives) ten times faster.
export AMICALE_TIMEOUT_SCALE=0.1

node_init A school
node_init B company
node_init C association
for n in A B C; do daemon_start "$n"; done
cli() { "$AMICALE_BIN" "$@"; }
# A line: A - B - C. A and C trust each other's announcements without being
# peers: what one publishes reaches the other only through B.
cli peer add --dir "$T/A" "$ADDR_B" "$KEY_B" --name B >/dev/null
cli peer add --dir "$T/B" "$ADDR_A" "$KEY_A" --name A >/dev/null
cli peer add --dir "$T/B" "$ADDR_C" "$KEY_C" --name C >/dev/null
cli peer add --dir "$T/C" "$ADDR_B" "$KEY_B" --name B >/dev/null
cli trust add --dir "$T/A" "$KEY_C" --name C >/dev/null
cli trust add --dir "$T/C" "$KEY_A" --name A >/dev/null
wait_for "A connected to B" 20 peer_connected "$T/A" "$KEY_B"
wait_for "C connected to B" 20 peer_connected "$T/C" "$KEY_B"

events_of() { cli event list --dir "$T/$1" --json | jq -r '.[].body.title' | sort | paste -sd'|'; }
has_event() { cli event list --dir "$T/$1" --json | jq -e --arg t "$2" 'any(.[]; .body.title == $t)' >/dev/null; }
no_event() { ! has_event "$@"; }
# Sorted ids of every announcement a node holds.
ids_of() { cli announcement list --dir "$T/$1" --json | jq -r '.[].id' | sort | paste -sd' '; }
same_ids() {
  local first; first=$(ids_of "$1"); shift
  for n in "$@"; do [ "$(ids_of "$n")" = "$first" ] || return 1; done
}
# Occurrences of TEXT in a node's database, read with LMDB's own mdb_dump.
in_store() { mdb_dump -a -p "$T/$1/store" 2>/dev/null | grep -c -- "$2"; }
not_in_store() { [ "$(in_store "$1" "$2")" = 0 ]; }
# When nodes disagree: what each holds, and what their logs say.
show_sets() {
  for n in "$@"; do
    echo "  -- $n holds:"; cli announcement list --dir "$T/$n" | sed 's/^/     /'
    grep -h "warn\|error" "$T/$n.log" | tail -5 | sed 's/^/     log: /'
  done
}
sync_of() { cli status --dir "$T/$1" --json | jq -r --arg k "$2" '.peers[] | select(.key == $k) | .sync'; }
in_sync() { [ "$(sync_of "$1" "$2")" = "in sync" ]; }

# ---- an event on A reaches C through B ---------------------------------------
expect_status 0 cli event add --dir "$T/A" --title "Afterwork Lyon" --start 2030-12-10T19:00 \
  --city Lyon
wait_for "A's event reached C through B" 20 has_event C "Afterwork Lyon"
expect_status 0 cli event show --dir "$T/C" "$(cli event list --dir "$T/C" --json | jq -r '.[0].id[0:12]')" --json
expect_eq "C names A as the event's origin" "$KEY_A" "$(jq -r .origin "$OUT")"
wait_for "B relayed it: one announcement out to C" 10 bash -c \
  "[ \"\$('$AMICALE_BIN' status --dir '$T/B' --json | jq --arg k '$KEY_C' '.peers[] | select(.key == \$k) | .announcements_out')\" -ge 1 ]"

# ---- an edit on A replaces it on C ---------------------------------------------
expect_status 0 cli event edit --dir "$T/A" 1 --title "Apéro Vieux-Lyon" --venue "Bouchon"
wait_for "the edit reached C" 20 has_event C "Apéro Vieux-Lyon"
expect_eq "C holds the new version only" "Apéro Vieux-Lyon" "$(events_of C)"
expect_eq "the old title is gone from C's store" 0 "$(in_store C 'Afterwork Lyon')"

# ---- cancellation, then retraction ---------------------------------------------
expect_status 0 cli event cancel --dir "$T/A" 1
wait_for "C sees it cancelled" 20 bash -c \
  "'$AMICALE_BIN' event list --dir '$T/C' --json | jq -e '.[0].body.status == \"cancelled\"' >/dev/null"
expect_status 0 cli event remove --dir "$T/A" 1 --reason "postponed to spring"
wait_for "the retraction removed it from B" 20 no_event B "Apéro Vieux-Lyon"
wait_for "the retraction removed it from C" 20 no_event C "Apéro Vieux-Lyon"
expect_eq "B's store no longer holds it" 0 "$(in_store B 'Vieux-Lyon')"
expect_eq "C's store no longer holds it" 0 "$(in_store C 'Vieux-Lyon')"

# ---- a member's erasure leaves every store -----------------------------------
expect_status 0 cli member add --dir "$T/A" --given-name Zéphyrine --family-name Quintalbert \
  --promo 2011 --city Grenoble --consent-listed yes --consent-federation yes \
  --email zq@example.fr
profile_on() { cli announcement list --dir "$T/$1" --kind profile --json |
  jq -e 'any(.[]; .body.family_name == "Quintalbert")' >/dev/null; }
no_profile_on() { ! profile_on "$@"; }
wait_for "the profile reached C" 20 profile_on C
expect_true "B's store holds the name" test "$(in_store B Quintalbert)" -ge 1
expect_status 0 cli member remove --dir "$T/A" 1
wait_for "erasure: the profile left B" 20 no_profile_on B
wait_for "erasure: the profile left C" 20 no_profile_on C
expect_eq "erasure: the name is in no record of A's store" 0 "$(in_store A Quintalbert)"
expect_eq "erasure: the name is in no record of B's store" 0 "$(in_store B Quintalbert)"
expect_eq "erasure: the name is in no record of C's store" 0 "$(in_store C Quintalbert)"

# ---- partition and heal ---------------------------------------------------------
wait_for "A, B, C converged before the partition" 30 same_ids A B C || show_sets A B C
daemon_stop B
expect_eq "B stopped cleanly" 0 "$RC"
expect_status 0 cli event add --dir "$T/A" --title "Gala Paris" --start 2030-06-01T20:00 --city Paris
expect_status 0 cli job add --dir "$T/C" --title "Stage data" --employer "Ardoise" --contract internship \
  --apply jobs@ardoise.example --city Nantes
expect_true "during the partition C lacks A's gala" no_event C "Gala Paris"
daemon_start B --listen "$ADDR_B" # its address, as a real node's (the others dial it)
wait_for "B reconnected to A" 30 peer_connected "$T/B" "$KEY_A"
wait_for "B reconnected to C" 30 peer_connected "$T/B" "$KEY_C"
wait_for "heal: A, B and C hold the same announcements" 30 same_ids A B C || show_sets A B C
expect_true "heal: C has A's gala" has_event C "Gala Paris"
expect_true "heal: A has C's job" bash -c "'$AMICALE_BIN' job list --dir '$T/A' | grep -q 'Stage data'"
wait_for "B reports A in sync" 30 in_sync B "$KEY_A"
expect_status 0 cli status --dir "$T/B"
expect_out_contains "sync     in sync; last reconciliation"
expect_status 0 cli peer list --dir "$T/B" --json
expect_true "peer list: sync and last reconciliation time" \
  jq -e 'all(.[]; .sync == "in sync" and (.last_sync | type) == "string")' "$OUT"

# ---- restart with persisted state ---------------------------------------------------
before=$(ids_of A)
daemon_kill A
daemon_start A
expect_eq "A kept everything across a crash" "$before" "$(ids_of A)"
wait_for "A reconnected" 30 peer_connected "$T/A" "$KEY_B"
expect_status 0 cli event add --dir "$T/A" --title "Rentrée des anciens" --start 2030-09-15T18:00
wait_for "after A's restart its new event reaches C" 20 has_event C "Rentrée des anciens"

# ---- a node joining late ----------------------------------------------------------
node_init D school
daemon_start D
cli trust add --dir "$T/D" "$KEY_A" --name A >/dev/null
cli trust add --dir "$T/D" "$KEY_B" --name B >/dev/null
cli peer add --dir "$T/D" "$ADDR_C" "$KEY_C" --name C >/dev/null
cli peer add --dir "$T/C" "$ADDR_D" "$KEY_D" --name D >/dev/null
cli trust add --dir "$T/A" "$KEY_D" --name D >/dev/null
cli trust add --dir "$T/B" "$KEY_D" --name D >/dev/null
wait_for "D connected to C" 20 peer_connected "$T/D" "$KEY_C"
wait_for "late joiner: D holds exactly what the others hold" 30 same_ids A B C D ||
  show_sets A B C D
expect_true "D has the gala" has_event D "Gala Paris"
expect_eq "D never received retracted content" 0 "$(in_store D 'Vieux-Lyon')"
expect_eq "D never received the erased member" 0 "$(in_store D Quintalbert)"
expect_status 0 cli announcement list --dir "$T/D" --kind retraction --json
expect_true "D holds the retractions (so an old copy can never come back)" jq -e 'length >= 2' "$OUT"

# ---- an origin trusted later ------------------------------------------------------------
node_init E school
daemon_start E
cli peer add --dir "$T/E" "$ADDR_C" "$KEY_C" --name C >/dev/null
cli peer add --dir "$T/C" "$ADDR_E" "$KEY_E" --name E --no-trust >/dev/null # (C keeps the set of A, B, D)
wait_for "E connected to C" 20 peer_connected "$T/E" "$KEY_C"
untrusted_on() { cli status --dir "$T/$1" --json | jq .counters.announcements_untrusted; }
wait_for "E refused A's and B's announcements (origins it does not trust)" 20 bash -c \
  "[ \"\$('$AMICALE_BIN' status --dir '$T/E' --json | jq .counters.announcements_untrusted)\" -ge 1 ]"
expect_true "E did not store A's gala" no_event E "Gala Paris"
expect_eq "nor any of it in its store" 0 "$(in_store E 'Gala Paris')"
cli trust add --dir "$T/E" "$KEY_A" --name A >/dev/null
wait_for "trusted now: E fetched A's gala" 20 has_event E "Gala Paris"
daemon_stop E
expect_eq "E stopped cleanly" 0 "$RC"

# ---- expiry everywhere ----------------------------------------------------------------
now=$(date +%s)
expect_status 0 cli event add --dir "$T/A" --title "Flash apéro" --start "$now" --end "$((now + 8))"
wait_for "the short event reached D" 20 has_event D "Flash apéro"
for n in A B C D; do
  wait_for "expired: gone from $n" 30 no_event "$n" "Flash apéro"
  wait_for "expired: gone from $n's store" 30 not_in_store "$n" "Flash ap"
done
wait_for "after expiry the sets agree" 30 same_ids A B C D || show_sets A B C D

# ---- a peer relaying forged and untrusted announcements ------------------------------
node_init R association
# R is B's peer, but B does not take R's own announcements (--no-trust).
cli peer add --dir "$T/B" 127.0.0.1:9 "$KEY_R" --name R --no-trust >/dev/null
cli announcement export --dir "$T/A" --kind event --origin "$KEY_A" --output "$T/a-events.ann"
# A copy of A's gala with its title changed: the signature no longer holds.
/usr/bin/python3 - "$T/a-events.ann" "$T/forged.ann" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
i = data.index(b"Gala Paris")
open(sys.argv[2], "wb").write(data[:i] + b"Gala Pirat" + data[i + 10:])
EOF
expect_status 0 cli event add --dir "$T/R" --title "Rogue meetup" --start 2030-05-05T18:00
cli announcement export --dir "$T/R" --kind event --output "$T/rogue.ann"
refused_before=$(cli status --dir "$T/B" --json | jq .counters.announcements_refused)
expect_status 0 "$AMICALE_PROBE" relay "$ADDR_B" "$T/R" "$KEY_B" "$T/forged.ann"
expect_out_contains "relayed"
expect_status 0 "$AMICALE_PROBE" relay "$ADDR_B" "$T/R" "$KEY_B" "$T/rogue.ann"
expect_status 0 cli status --dir "$T/B" --json
expect_true "B counted the forged and the untrusted ones as refused" \
  test "$(jq .counters.announcements_refused "$OUT")" -ge $((refused_before + 2))
expect_true "B counted the untrusted origin" test "$(jq .counters.announcements_untrusted "$OUT")" -ge 1
expect_eq "B counts them against R" 2 \
  "$(jq --arg k "$KEY_R" '.peers[] | select(.key == $k) | .announcements_refused' "$OUT")"
expect_true "B logged the forgery" log_has B "bad-signature"
expect_eq "the forged title is in no store" 0 "$(in_store B 'Gala Pirat')"
expect_eq "the untrusted event was not stored by B" 0 "$(in_store B 'Rogue meetup')"
expect_eq "nor relayed to C" 0 "$(in_store C 'Rogue meetup')"
expect_true "B still runs" kill -0 "$PID_B"
expect_status 0 cli event add --dir "$T/A" --title "Après la tempête" --start 2030-10-01T18:00
wait_for "traffic unaffected: A's next event reaches D" 20 has_event D "Après la tempête"

# ---- statuses -------------------------------------------------------------------------
for n in A B C D; do
  daemon_stop "$n"
  expect_eq "$n stopped cleanly" 0 "$RC"
done
finish
