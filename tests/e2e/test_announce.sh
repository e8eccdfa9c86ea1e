#!/usr/bin/env bash
# One node's signed announcements: event and job add / edit / cancel /
# withdraw / show / list (JSON and text), time zones, job defaults, usage
# errors and their exit statuses, announcement show / verify / export,
# node show / edit, members' federated profiles (publish, unpublish,
# automatic on consent and edits, private fields kept out), expiry pruning,
# and failed commands leaving the store untouched.
. "$(dirname "$0")/lib.sh"

NOW0=1767261600 # 2026-01-01T10:00:00Z
export AMICALE_NOW=$NOW0
export AMICALE_DIR="$T/node"
new_node "$AMICALE_DIR" "École Test"
KEY=$("$AMICALE_BIN" id | head -1)

# snapshot / unchanged WHAT: the node's store is as at the last snapshot.
snapshot() { store_snapshot "$AMICALE_DIR"; }
unchanged() { store_unchanged "$AMICALE_DIR" "$1"; }
# in_store WORD: how many lines of the printable dump of every table hold WORD.
in_store() { mdb_dump -a -p "$AMICALE_DIR/store" 2>&1 | grep -c -F -- "$1"; }
# in_ann WORD: the same for the announcements table only.
in_ann() { mdb_dump -p -s ann "$AMICALE_DIR/store" 2>&1 | grep -c -F -- "$1"; }
# j FILTER: jq on the last stdout, compact.
j() { jq -c "$1" "$OUT"; }
# count KIND: announcements of that kind held.
count() { "$AMICALE_BIN" announcement list --kind "$1" --json | jq length; }

# ---- init announced the node (version 1) --------------------------------------------------
expect_status 0 "$AMICALE_BIN" announcement list --kind node --json
expect_eq "init: one node announcement" 1 "$(j length)"
expect_eq "init: node announcement is version 1, object 0" '[1,0]' "$(j '[.[0].version,.[0].object]')"
expect_eq "init: node body is name and kind" '{"name":"École Test","kind":"school"}' "$(j '.[0].body')"
expect_eq "init: node origin is this node's key" "\"$KEY\"" "$(j '.[0].origin')"
expect_eq "init: origin_name says this node" '"École Test (this node)"' "$(j '.[0].origin_name')"
expect_eq "init: node does not expire" null "$(j '.[0].expires')"
NODE_ID=$(jq -r '.[0].id' "$OUT")

# ---- event add ------------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" event add --title "Afterwork des anciens" --start "2027-01-15 19:00" \
  --timezone Europe/Paris --venue "Le Comptoir" --city Lyon --country France --tag networking \
  --tag alumni --capacity 40 --language fr --registration "https://ecole.example/aw" \
  --description $'Première ligne.\nSeconde ligne.' --json
expect_err_empty
cp "$OUT" "$T/ev1.json"
expect_eq "add --json: kind, object, ref, local" '["event",1,"1",true]' "$(j '[.kind,.object,.ref,.local]')"
expect_eq "add --json: origin_name is the node's name" '"École Test"' "$(j .origin_name)"
expect_eq "add --json: origin is this node" "\"$KEY\"" "$(j .origin)"
expect_eq "add --json: version 2 (the node took 1)" 2 "$(j .version)"
expect_eq "add --json: created from AMICALE_NOW" '"2026-01-01T10:00:00Z"' "$(j .created)"
expect_eq "19:00 in Europe/Paris (winter) is 18:00Z" '"2027-01-15T18:00:00Z"' "$(j .body.starts_at)"
expect_eq "no end: expires a day after the start" '"2027-01-16T18:00:00Z"' "$(j .expires)"
expect_eq "no end: ends_at absent" null "$(j .body.ends_at)"
expect_eq "timezone kept" '"Europe/Paris"' "$(j .body.timezone)"
expect_eq "--tag twice adds up" '["networking","alumni"]' "$(j .body.tags)"
expect_eq "capacity is a number" 40 "$(j .body.capacity)"
expect_eq "status defaults to scheduled" '"scheduled"' "$(j .body.status)"
expect_eq "multi-line description kept" '"Première ligne.\nSeconde ligne."' "$(j .body.description)"
expect_eq "venue, city, country, language, registration" \
  '["Le Comptoir","Lyon","France","fr","https://ecole.example/aw"]' \
  "$(j '[.body.venue,.body.city,.body.country,.body.language,.body.registration]')"
expect_match "id is 64 hex digits" '^"[0-9a-f]{64}"$' "$(j .id)"
expect_match "signature is 128 hex digits" '^"[0-9a-f]{128}"$' "$(j .signature)"
EV1_ID=$(jq -r .id "$T/ev1.json")

expect_status 0 "$AMICALE_BIN" event add --title "Gala 2027" --start "2027-06-12 19:30" \
  --end "2027-06-13 01:00" --timezone Europe/Paris --city Paris
expect_eq "add: text output" "Event 2 published: Gala 2027" "$(cat "$OUT")"
expect_err_empty
expect_status 0 "$AMICALE_BIN" event show 2 --json
expect_eq "19:30 in Europe/Paris (summer) is 17:30Z" '"2027-06-12T17:30:00Z"' "$(j .body.starts_at)"
expect_eq "end read in the zone too" '"2027-06-12T23:00:00Z"' "$(j .body.ends_at)"
expect_eq "with an end: expires at the end" '"2027-06-12T23:00:00Z"' "$(j .expires)"

# An explicit offset wins over the zone.
expect_status 0 "$AMICALE_BIN" event add --title "Offset" --start "2027-03-01T10:00+05:00" \
  --timezone America/Montreal --json
expect_eq "explicit +05:00 offset" '"2027-03-01T05:00:00Z"' "$(j .body.starts_at)"
expect_status 0 "$AMICALE_BIN" event add --title "Zulu" --start "2027-03-01T10:00Z" --json
expect_eq "explicit Z" '"2027-03-01T10:00:00Z"' "$(j .body.starts_at)"
# Without --timezone: $TZ (lib.sh sets TZ=UTC).
expect_eq "default zone from TZ=UTC" '"UTC"' "$(j .body.timezone)"
run env TZ=America/Montreal "$AMICALE_BIN" event add --title "Montréal" \
  --start "2027-01-15 19:00" --json
expect_eq "TZ=America/Montreal: zone taken from TZ" '"America/Montreal"' "$(j .body.timezone)"
expect_eq "TZ=America/Montreal: 19:00 EST is 00:00Z next day" '"2027-01-16T00:00:00Z"' "$(j .body.starts_at)"
run env TZ=:Europe/Paris "$AMICALE_BIN" event add --title "Colon" --start "2027-01-15 19:00" --json
expect_eq "TZ=:Europe/Paris (leading colon)" '["Europe/Paris","2027-01-15T18:00:00Z"]' \
  "$(j '[.body.timezone,.body.starts_at]')"
# Events 3..6 served their purpose: withdraw them (checked further down).
for r in 3 4 5 6; do "$AMICALE_BIN" event remove "$r" >/dev/null 2>&1; done

# ---- event show / list ------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" event show 1
expect_eq "show: first line" "Event 1 — Afterwork des anciens" "$(sed -n 1p "$OUT")"
expect_match "show: start in the event's zone" 'Starts +2027-01-15 19:00 CET' "$(cat "$OUT")"
expect_match "show: time zone" 'Time zone +Europe/Paris' "$(cat "$OUT")"
expect_match "show: tags" 'Tags +networking; alumni' "$(cat "$OUT")"
expect_match "show: multi-line text indented" $'Première ligne\\.\n +Seconde ligne\\.' "$(cat "$OUT")"
expect_match "show: publisher, version, time" 'Published by +École Test \(version 2, 2026-01-01T10:00:00Z\)' "$(cat "$OUT")"
expect_match "show: announcement id" "Announcement +$EV1_ID" "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" event show 2
expect_match "show: summer time" 'Starts +2027-06-12 19:30 CEST' "$(cat "$OUT")"
expect_match "show: end" 'Ends +2027-06-13 01:00 CEST' "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" event show 1 --json
expect_eq "show --json = add --json" "$(jq -cS . "$T/ev1.json")" "$(jq -cS . "$OUT")"
expect_status 0 "$AMICALE_BIN" event show "${EV1_ID:0:8}" --json
expect_eq "show by an 8-digit id prefix (own event)" "\"$EV1_ID\"" "$(j .id)"

expect_status 0 "$AMICALE_BIN" event list
expect_eq "list: two current events" 2 "$(wc -l <"$OUT")"
expect_match "list: line of event 1" '^1 +2027-01-15 19:00 CET +Afterwork des anciens — Lyon +\[École Test\]$' "$(sed -n 1p "$OUT")"
expect_match "list: line of event 2 (sorted by start)" '^2 +2027-06-12 19:30 CEST +Gala 2027 — Paris +\[École Test\]$' "$(sed -n 2p "$OUT")"
expect_status 0 "$AMICALE_BIN" event list --json
expect_eq "list --json: refs by start" '["1","2"]' "$(j '[.[].ref]')"
expect_eq "list --json: local, origin_name" '[[true,"École Test"],[true,"École Test"]]' "$(j '[.[]|[.local,.origin_name]]')"
expect_status 0 "$AMICALE_BIN" event list --origin "$KEY" --json
expect_eq "list --origin this node" 2 "$(j length)"
expect_status 2 "$AMICALE_BIN" event list --origin not-a-key
expect_status 2 "$AMICALE_BIN" event list extra

# ---- event edit --------------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" event edit 1 --venue "Salle Gaveau"
expect_match "edit: text output" '^Event 1 updated \(version [0-9]+\): Afterwork des anciens$' "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" event show 1 --json
cp "$OUT" "$T/ev1b.json"
expect_eq "edit: same object" 1 "$(j .object)"
expect_true "edit: a higher version" test "$(j .version)" -gt 2
expect_ne "edit: a new id" "\"$EV1_ID\"" "$(j .id)"
expect_eq "edit: the new venue" '"Salle Gaveau"' "$(j .body.venue)"
expect_eq "edit: the rest kept" "$(jq -c '.body|del(.venue)' "$T/ev1.json")" "$(j '.body|del(.venue)')"
expect_status 3 "$AMICALE_BIN" announcement show "$EV1_ID"
expect_eq "edit: only the new version is held" 1 \
  "$("$AMICALE_BIN" announcement list --kind event --json | jq '[.[]|select(.object==1)]|length')"
# A new start without --timezone is read in the event's own zone, not $TZ.
expect_status 0 "$AMICALE_BIN" event edit 1 --start "2027-01-16 20:00" --json
expect_eq "edit --start read in the event's zone" '"2027-01-16T19:00:00Z"' "$(j .body.starts_at)"
expect_eq "edit --start moves the expiry" '"2027-01-17T19:00:00Z"' "$(j .expires)"
expect_status 0 "$AMICALE_BIN" event edit 1 --tag "" --capacity "" --json
expect_eq "edit: empty value clears" '[null,null]' "$(j '[.body.tags,.body.capacity]')"

# ---- event cancel / remove ----------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" event cancel 2
expect_eq "cancel: text output" "Event 2 cancelled: Gala 2027" "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" event show 2 --json
expect_eq "cancel: status cancelled" '"cancelled"' "$(j .body.status)"
expect_status 0 "$AMICALE_BIN" event list
expect_match "cancel: still listed, marked" '^2 .*Gala 2027.*\[École Test\] +cancelled$' "$(grep Gala "$OUT")"
expect_status 5 "$AMICALE_BIN" event cancel 2
expect_err_contains "already cancelled"

expect_status 0 "$AMICALE_BIN" event add --title "Doublon Xylophone" --start "2027-02-01 18:00"
expect_eq "object numbers go on" "Event 7 published: Doublon Xylophone" "$(cat "$OUT")"
expect_eq "the title is in the store" 1 "$(in_ann Xylophone)"
expect_status 0 "$AMICALE_BIN" event remove 7 --reason doublon --json
expect_eq "remove --json: the retraction" '["retraction",7,"7",{"kind":"event","reason":"doublon"}]' \
  "$(j '[.kind,.object,.ref,.body]')"
expect_status 3 "$AMICALE_BIN" event show 7
expect_err_contains "withdrawn"
expect_status 3 "$AMICALE_BIN" event edit 7 --city Lyon
expect_status 3 "$AMICALE_BIN" event cancel 7
expect_status 3 "$AMICALE_BIN" event remove 7
expect_eq "removed: its content is gone from the store" 0 "$(in_store Xylophone)"
expect_status 0 "$AMICALE_BIN" event list --json
expect_eq "removed events are not listed" '["1","2"]' "$(j '[.[].ref]')"
expect_status 0 "$AMICALE_BIN" announcement list --kind retraction --json
expect_eq "one retraction per withdrawn event" '[3,4,5,6,7]' "$(j '[.[]|select(.body.kind=="event")|.object]|sort')"
expect_status 0 "$AMICALE_BIN" event remove 2
expect_eq "remove: text output" "Event 2 withdrawn from the federation: Gala 2027" "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" event add --title "Not reused" --start "2027-02-01 18:00" --json
expect_eq "ids of withdrawn events are not reused" 8 "$(j .object)"
"$AMICALE_BIN" event remove 8 >/dev/null 2>&1

# ---- usage errors and invalid values (the store is left as it was) --------------------------------
snapshot
expect_status 2 "$AMICALE_BIN" event add --start "2027-01-15 19:00"
expect_err_contains "--title"
expect_status 2 "$AMICALE_BIN" event add --title "No start"
expect_err_contains "--start"
expect_status 2 "$AMICALE_BIN" event add --title X --start "2027-01-15 19:00" --bogus 1
expect_err_contains "--bogus"
expect_status 2 "$AMICALE_BIN" event add --title X --start "2027-01-15 19:00" stray
expect_status 2 "$AMICALE_BIN" event add --title X --start
expect_status 4 "$AMICALE_BIN" event add --title X --start "2027-01-15 19:00" --status maybe
expect_err_contains "'maybe' is not one of: scheduled, cancelled, postponed"
expect_status 4 "$AMICALE_BIN" event add --title X --start "2025-06-01 19:00"
expect_err_contains "already over"
expect_status 4 "$AMICALE_BIN" event add --title X --start "2027-01-15 19:00" --end "2027-01-15 18:00"
expect_err_contains "ends before it starts"
expect_status 4 "$AMICALE_BIN" event add --title X --start "2027-01-15 19:00" --timezone Mars/Olympus
expect_err_contains "'Mars/Olympus' is not a known time zone"
expect_status 4 "$AMICALE_BIN" event add --title X --start "2027-01-15 19:00" --timezone ../../etc/passwd
expect_status 4 "$AMICALE_BIN" event add --title X --start "2027-02-30 19:00"
expect_err_contains "--start"
expect_status 4 "$AMICALE_BIN" event add --title X --start "tomorrow"
expect_err_contains "'tomorrow' is not a date and time"
# Digits where digits are due: no one-digit seconds (read past the end of
# the text once), no signs or blanks inside the numbers.
for bad in "2027-01-15 19:00:5" "2027-01-15 -1:-5" "2027- 1-15 19:00" "2027-01-15 19:+5" "2027-01-15 19:00:-9"; do
  expect_status 4 "$AMICALE_BIN" event add --title X --start "$bad"
  expect_err_contains "is not a date and time"
done
expect_status 4 "$AMICALE_BIN" event add --title X --start "2027-01-15 19:00" --capacity lots
expect_err_contains "--capacity"
expect_status 4 "$AMICALE_BIN" event add --title X --start "2027-01-15 19:00" --online-url "not a url"
expect_err_contains "--online-url"
expect_status 2 "$AMICALE_BIN" event edit 1
expect_status 2 "$AMICALE_BIN" event edit 1 --reason "not a field"
expect_err_contains "nothing to change"
expect_status 2 "$AMICALE_BIN" event edit --city Lyon
expect_status 3 "$AMICALE_BIN" event edit 99 --city Lyon
expect_err_contains "no current event 99"
expect_status 4 "$AMICALE_BIN" event edit 1 --end "2027-01-01 10:00"
expect_status 4 "$AMICALE_BIN" event edit 1 --title ""
expect_status 4 "$AMICALE_BIN" event edit 1 --end "2026-01-01 09:00" --start "2026-01-01 08:00"
expect_err_contains "already over"
expect_status 4 "$AMICALE_BIN" event edit 1 --city Lyon --timezone Nowhere/Special
expect_status 3 "$AMICALE_BIN" event show 99
expect_status 3 "$AMICALE_BIN" event show deadbeef
expect_status 2 "$AMICALE_BIN" event show dead
expect_status 2 "$AMICALE_BIN" event show not-hex-at-all
expect_status 3 "$AMICALE_BIN" event show "${NODE_ID:0:12}"
expect_err_contains "is a node, not an event"
expect_status 2 "$AMICALE_BIN" event show
expect_status 2 "$AMICALE_BIN" event frobnicate
expect_status 2 "$AMICALE_BIN" event
expect_status 0 "$AMICALE_BIN" event --help
expect_out_contains "--timezone"
expect_out_contains "scheduled, cancelled, postponed"
expect_status 2 "$AMICALE_BIN" job add --title T --employer E --apply "rh@example.org"
expect_err_contains "--contract"
expect_status 2 "$AMICALE_BIN" job add --title T --contract cdi --apply "rh@example.org"
expect_err_contains "--employer"
expect_status 2 "$AMICALE_BIN" job add --title T --employer E --contract cdi
expect_err_contains "--apply"
expect_status 4 "$AMICALE_BIN" job add --title T --employer E --contract permanent --apply "rh@example.org"
expect_err_contains "'permanent' is not one of: cdi, cdd, internship, work_study, freelance, vie, volunteer, other"
expect_status 4 "$AMICALE_BIN" job add --title T --employer E --contract cdi --apply x --remote sometimes
expect_err_contains "on_site, hybrid, remote"
expect_status 4 "$AMICALE_BIN" job add --title T --employer E --contract cdi --apply x --valid-through 2025-12-31
expect_err_contains "--valid-through"
expect_status 4 "$AMICALE_BIN" job add --title T --employer E --contract cdi --apply x --valid-through 2026-02-30
expect_status 4 "$AMICALE_BIN" job add --title T --employer E --contract cdi --apply x --salary-min -5
expect_status 4 "$AMICALE_BIN" job add --title T --employer E --contract cdi --apply x --alumni-only maybe
expect_status 2 "$AMICALE_BIN" job cancel 1
expect_status 2 "$AMICALE_BIN" job
unchanged "failed event and job commands"

# ---- job add / edit / close: defaults ---------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" job add --title "Ingénieur·e data" --employer Thales --contract cdi \
  --city Paris --apply "recrutement@thales.example" --alumni-only yes --skill Python --skill SQL --json
expect_err_empty
expect_eq "job: ref, object, local" '["1",1,true]' "$(j '[.ref,.object,.local]')"
expect_eq "job: posted today (AMICALE_NOW)" '"2026-01-01"' "$(j .body.posted)"
expect_eq "job: valid 60 days by default" '"2026-03-02"' "$(j .body.valid_through)"
expect_eq "job: expires at the end of that day (UTC)" '"2026-03-03T00:00:00Z"' "$(j .expires)"
expect_eq "job: alumni only, contract, skills" '[true,"cdi",["Python","SQL"]]' "$(j '[.body.alumni_only,.body.contract,.body.skills]')"
JOB1_ID=$(jq -r .id "$OUT")
expect_status 0 "$AMICALE_BIN" job add --title "Stage" --employer Airbus --contract internship \
  --apply "https://careers.example/1" --posted 2026-01-10 --json
expect_eq "job: --posted moves the default validity" '["2026-01-10","2026-03-11","2026-03-12T00:00:00Z"]' \
  "$(j '[.body.posted,.body.valid_through,.expires]')"
expect_eq "job: contract" '"internship"' "$(j .body.contract)"
expect_eq "job: alumni_only defaults to false" false "$(j .body.alumni_only)"
AMICALE_NOW=$((NOW0 + 60)) expect_status 0 "$AMICALE_BIN" job add --title "CDD court" --employer Safran --contract cdd \
  --apply "rh@safran.example" --valid-through 2026-02-15
expect_eq "job add: text output" "Job offer 3 published: CDD court" "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" job show 3 --json
expect_eq "job: --valid-through kept, expires the next midnight" '["2026-01-01","2026-02-15","2026-02-16T00:00:00Z"]' \
  "$(j '[.body.posted,.body.valid_through,.expires]')"
# Posted "today" is the UTC day of AMICALE_NOW, up to its last second.
AMICALE_NOW=1767311999 run "$AMICALE_BIN" job add --title "Late" --employer E --contract other --apply x --json
expect_eq "job: at 23:59:59Z still posted that day" '["2026-01-01","2026-03-02"]' "$(j '[.body.posted,.body.valid_through]')"
"$AMICALE_BIN" job close 4 >/dev/null 2>&1

expect_status 0 "$AMICALE_BIN" job edit 1 --salary-min 42000 --salary-max 52000 --currency EUR --remote hybrid
expect_match "job edit: text output" '^Job offer 1 updated \(version [0-9]+\): Ingénieur·e data$' "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" job show 1 --json
expect_eq "job edit: new values" '[42000,52000,"EUR","hybrid"]' "$(j '[.body.salary_min,.body.salary_max,.body.currency,.body.remote]')"
expect_eq "job edit: dates kept" '["2026-01-01","2026-03-02","2026-03-03T00:00:00Z"]' \
  "$(j '[.body.posted,.body.valid_through,.expires]')"
expect_ne "job edit: new id" "\"$JOB1_ID\"" "$(j .id)"
expect_status 0 "$AMICALE_BIN" job show 1
expect_eq "job show: first line" "Job 1 — Ingénieur·e data" "$(sed -n 1p "$OUT")"
expect_match "job show: employer" 'Employer +Thales' "$(cat "$OUT")"

expect_status 0 "$AMICALE_BIN" job list
expect_match "job list: alumni-only offer" '^1 +cdi +Ingénieur·e data, Thales — Paris +\[École Test\] +alumni only$' "$(grep Thales "$OUT")"
expect_status 0 "$AMICALE_BIN" job list --json
expect_eq "job list: newest posted first, then newest created" '["2","3","1"]' "$(j '[.[].ref]')"

expect_status 0 "$AMICALE_BIN" job close 2 --reason "poste pourvu"
expect_eq "job close: text output" "Job offer 2 withdrawn from the federation: Stage" "$(cat "$OUT")"
expect_status 3 "$AMICALE_BIN" job show 2
expect_status 3 "$AMICALE_BIN" job close 2
expect_status 0 "$AMICALE_BIN" job remove 3 --json
expect_eq "job remove (alias of close) --json: the retraction" '["retraction",{"kind":"job"}]' "$(j '[.kind,.body]')"
expect_status 0 "$AMICALE_BIN" job list --json
expect_eq "closed offers are not listed" '["1"]' "$(j '[.[].ref]')"
expect_status 3 "$AMICALE_BIN" job show "${EV1_ID:0:12}" # an id that is no longer held
expect_status 0 "$AMICALE_BIN" event show 1 --json
EV1_NOW=$(jq -r .id "$OUT")
expect_status 3 "$AMICALE_BIN" job show "${EV1_NOW:0:12}"
expect_err_contains "is an event, not a job"

# A job stays listed through its last valid day, and not a second more.
AMICALE_NOW=1772495999 run "$AMICALE_BIN" job list --json # 2026-03-02T23:59:59Z
expect_eq "job listed on its last valid day" '["1"]' "$(j '[.[].ref]')"
AMICALE_NOW=1772496000 run "$AMICALE_BIN" job list # 2026-03-03T00:00:00Z
expect_eq "job not listed once expired" "No job offers." "$(cat "$OUT")"

# ---- announcement show ---------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" announcement show "${EV1_NOW:0:8}"
expect_eq "show: first line" "Announcement $EV1_NOW" "$(sed -n 1p "$OUT")"
expect_match "show: kind" 'kind +event' "$(cat "$OUT")"
expect_match "show: origin" "origin +$KEY +École Test \\(this node\\)" "$(cat "$OUT")"
expect_match "show: body field by position" '\[ 0\] title +Afterwork des anciens' "$(cat "$OUT")"
expect_match "show: unset field is nil" 'capacity +nil' "$(cat "$OUT")"
expect_match "show: verified" 'verified +yes: signed by the origin' "$(cat "$OUT")"
expect_match "show: this node's own key is trusted" 'trusted +yes' "$(cat "$OUT")"
expect_out_not_contains "envelope bytes"
expect_status 0 "$AMICALE_BIN" announcement show "$EV1_NOW" --raw
expect_out_contains "envelope bytes:"
expect_match "show --raw: hex lines" '000000 9[0-9a-f]{63}' "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" announcement show "${EV1_NOW:0:12}" --json
expect_eq "show --json: signature_valid, origin_trusted" '[true,true]' "$(j '[.signature_valid,.origin_trusted]')"
expect_eq "show --json: id, kind, body" "[\"$EV1_NOW\",\"event\",\"Afterwork des anciens\"]" "$(j '[.id,.kind,.body.title]')"
expect_eq "show --json: no envelope without --raw" null "$(j .envelope_hex)"
expect_status 0 "$AMICALE_BIN" announcement show "${EV1_NOW:0:12}" --raw --json
expect_eq "show --raw --json: envelope_hex is size bytes" "$(j .size)" "$(jq '.envelope_hex|length/2' "$OUT")"
HEX=$(jq -r .envelope_hex "$OUT")
expect_status 3 "$AMICALE_BIN" announcement show 0000000000
expect_status 2 "$AMICALE_BIN" announcement show 1234567
expect_status 2 "$AMICALE_BIN" announcement show xyzxyzxyz
expect_status 2 "$AMICALE_BIN" announcement show

# ---- announcement export / verify ------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" announcement export --kind event --output "$T/event.ann"
expect_eq "export: summary on stderr" "1 announcement written to $T/event.ann" "$(cat "$ERR")"
expect_eq "export: the stored bytes, exactly" "$HEX" "$(od -An -v -tx1 "$T/event.ann" | tr -d ' \n')"
expect_status 0 "$AMICALE_BIN" announcement verify "$T/event.ann"
expect_match "verify: valid" "^$T/event.ann: valid event announcement, object 1 version [0-9]+$" "$(sed -n 1p "$OUT")"
expect_match "verify: id" "id +$EV1_NOW" "$(cat "$OUT")"
expect_match "verify: origin" "origin +$KEY" "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" announcement verify "$T/event.ann" --json
expect_eq "verify --json" "[true,\"$EV1_NOW\"]" "$(j '[.valid,.announcement.id]')"
# verify needs no node: it works from anywhere.
run env -u AMICALE_DIR "$AMICALE_BIN" announcement verify "$T/event.ann"
expect_eq "verify works without a node" 0 "$RC"

# Tampering: one bit of the title (still valid UTF-8), then one of the signature.
python3 - "$T/event.ann" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
i = b.find(b'Afterwork')
b[i] ^= 0x01                        # 'A' -> '@'
open(p + '.title', 'wb').write(b)
b = bytearray(open(p, 'rb').read())
b[-1] ^= 0x80                       # last byte of the signature
open(p + '.sig', 'wb').write(b)
b = bytearray(open(p, 'rb').read())
b[0] = 0x93                         # an envelope of three items
open(p + '.shape', 'wb').write(b)
open(p + '.cut', 'wb').write(bytes(b[:len(b) - 10]))
EOF
expect_status 4 "$AMICALE_BIN" announcement verify "$T/event.ann.title"
expect_out_contains "INVALID (bad-signature)"
expect_status 4 "$AMICALE_BIN" announcement verify "$T/event.ann.title" --json
expect_eq "verify --json of a tampered copy" '[false,"bad-signature"]' "$(j '[.valid,.reason]')"
expect_true "verify --json says why" test -n "$(jq -r .message "$OUT")"
expect_status 4 "$AMICALE_BIN" announcement verify "$T/event.ann.sig"
expect_out_contains "INVALID (bad-signature)"
expect_status 4 "$AMICALE_BIN" announcement verify "$T/event.ann.shape"
expect_out_contains "INVALID (malformed)"
expect_status 4 "$AMICALE_BIN" announcement verify "$T/event.ann.cut"
expect_out_contains "INVALID (malformed)"
: >"$T/empty.ann"
expect_status 4 "$AMICALE_BIN" announcement verify "$T/empty.ann"
expect_status 3 "$AMICALE_BIN" announcement verify "$T/missing.ann"
expect_status 2 "$AMICALE_BIN" announcement verify
expect_status 0 "$AMICALE_BIN" announcement export --output "$T/all.ann"
expect_status 4 "$AMICALE_BIN" announcement verify "$T/all.ann"
expect_out_contains "holds more than one announcement"

expect_status 2 "$AMICALE_BIN" announcement export --since 3 --output "$T/x.ann"
expect_err_contains "--origin"
expect_status 2 "$AMICALE_BIN" announcement export --kind bogus --output "$T/x.ann"
expect_err_contains "node, profile, event, job, retraction"
expect_status 2 "$AMICALE_BIN" announcement export --origin short --output "$T/x.ann"
expect_true "no file left by failed exports" test ! -e "$T/x.ann"
expect_status 2 "$AMICALE_BIN" announcement list --kind bogus
expect_status 2 "$AMICALE_BIN" announcement frobnicate

# ---- node show / edit ------------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" node show
expect_match "node show: name" 'Name +École Test' "$(cat "$OUT")"
expect_match "node show: kind" 'Kind of institution +school' "$(cat "$OUT")"
expect_match "node show: version 1" 'Version +1$' "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" node show --json
expect_eq "node show --json: the init announcement" "[\"$NODE_ID\",1]" "$(j '[.id,.version]')"
expect_status 0 "$AMICALE_BIN" node edit --city Lyon --country France --website ecole.example \
  --contact alumni@ecole.example --address node.ecole.example:7400
expect_eq "node edit: first line" "Node description announced (new version)." "$(sed -n 1p "$OUT")"
expect_status 0 "$AMICALE_BIN" node show --json
expect_eq "node edit: body" '{"name":"École Test","kind":"school","country":"France","city":"Lyon","website":"https://ecole.example","contact":"alumni@ecole.example","addresses":["node.ecole.example:7400"]}' "$(j .body)"
NODE_V=$(j .version)
expect_true "node edit: a new version" test "$NODE_V" -gt 1
expect_status 0 "$AMICALE_BIN" node edit --city Lyon
expect_eq "node edit with the same values" "Nothing changed." "$(sed -n 1p "$OUT")"
expect_status 0 "$AMICALE_BIN" node show --json
expect_eq "node edit with the same values: same version" "$NODE_V" "$(j .version)"
expect_eq "one node announcement held" 1 "$(count node)"
snapshot
expect_status 4 "$AMICALE_BIN" node edit --website "not a url"
expect_err_contains "--website"
expect_status 2 "$AMICALE_BIN" node show --city Paris
expect_status 2 "$AMICALE_BIN" node edit --name Other
expect_status 2 "$AMICALE_BIN" node frobnicate
unchanged "failed node commands"
expect_status 0 "$AMICALE_BIN" node edit --city "" --json
expect_eq "node edit: empty clears" '[null,"France"]' "$(j '[.body.city,.body.country]')"
expect_status 0 "$AMICALE_BIN" node edit --address a.example:7400 --address b.example:7400 --json
expect_eq "node edit: --address twice adds up" '["a.example:7400","b.example:7400"]' "$(j .body.addresses)"

# ---- member profiles ---------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" member add --given-name Éléonore --family-name Zorglubian \
  --email eleonore.zorglubian@example.fr --phone "+33 6 12 34 56 78" --promo 2012 \
  --programme "Ingénieur généraliste" --employer Airbus --job-title Ingénieure --city Toulouse \
  --bio "Biographie confidentielle" --linkedin linkedin.com/in/ezorglubian --dues-paid-until 2026-12-31
expect_eq "no consent: no profile" 0 "$(count profile)"
snapshot
expect_status 4 "$AMICALE_BIN" member publish 1
expect_err_contains "consent"
expect_status 3 "$AMICALE_BIN" member publish 99
expect_status 3 "$AMICALE_BIN" member publish nobody@example.fr
expect_status 2 "$AMICALE_BIN" member publish abc
expect_status 2 "$AMICALE_BIN" member publish
expect_status 2 "$AMICALE_BIN" member unpublish
unchanged "failed publish commands"
expect_status 0 "$AMICALE_BIN" member unpublish 1
expect_eq "unpublish of a member never shared" "Member 1 was not shared with the federation." "$(cat "$OUT")"
expect_eq "unpublish of a member never shared: no retraction" 0 \
  "$("$AMICALE_BIN" announcement list --kind retraction --json | jq '[.[]|select(.body.kind=="profile")]|length')"

expect_status 0 "$AMICALE_BIN" member edit 1 --consent-federation yes
expect_status 0 "$AMICALE_BIN" announcement list --kind profile --json
expect_eq "consent: one profile announced" 1 "$(j length)"
expect_eq "profile object is the member id" 1 "$(j '.[0].object')"
expect_eq "profile body: the federated fields" \
  '{"given_name":"Éléonore","family_name":"Zorglubian","promo":2012,"programme":"Ingénieur généraliste","employer":"Airbus","job_title":"Ingénieure","city":"Toulouse","mentoring":false}' \
  "$(j '.[0].body')"
expect_eq "profile body: no private or school field" '[]' \
  "$(j '.[0].body|keys|map(select(IN("emails","phone","bio","linkedin","website","dues_paid_until","dues_lifetime","consent_listed","consent_federation")))')"
expect_eq "profile does not expire" null "$(j '.[0].expires')"
P1_ID=$(j '.[0].id')
P1_V=$(j '.[0].version')
expect_status 0 "$AMICALE_BIN" announcement export --kind profile --output "$T/profile.ann"
for secret in eleonore.zorglubian@example.fr "12 34 56 78" "Biographie confidentielle" ezorglubian; do
  expect_eq "profile bytes do not hold '$secret'" 0 "$(grep -c -a -F -- "$secret" "$T/profile.ann")"
done
expect_status 0 "$AMICALE_BIN" member publish 1
expect_eq "publish when current" "Member 1's profile is already announced and current." "$(cat "$OUT")"
# Edits of private or school-only fields announce nothing.
for edit in "--phone 0700000000" "--email e.z@example.org" "--bio Autre" "--linkedin linkedin.com/in/ez2" \
  "--dues-paid-until 2027-12-31" "--consent-listed yes"; do
  # shellcheck disable=SC2086
  expect_status 0 "$AMICALE_BIN" member edit 1 $edit
  expect_eq "edit $edit: profile unchanged" "$P1_ID" "$("$AMICALE_BIN" announcement list --kind profile --json | jq -c '.[0].id')"
done
# An edit of a federated field announces a new version, which replaces the old.
expect_status 0 "$AMICALE_BIN" member edit 1 --employer Thales
expect_status 0 "$AMICALE_BIN" announcement list --kind profile --json
expect_eq "federated edit: still one profile" 1 "$(j length)"
expect_eq "federated edit: new employer" '"Thales"' "$(j '.[0].body.employer')"
expect_true "federated edit: higher version" test "$(j '.[0].version')" -gt "$P1_V"
# Visibility changes move fields in and out of the profile.
expect_status 0 "$AMICALE_BIN" member edit 1 --visibility employer=private
expect_status 0 "$AMICALE_BIN" announcement list --kind profile --json
expect_eq "employer made private: gone from the profile" null "$(j '.[0].body.employer')"
expect_status 0 "$AMICALE_BIN" member edit 1 --visibility emails=federation
expect_status 0 "$AMICALE_BIN" announcement list --kind profile --json
expect_eq "emails made federated: in the profile" '["e.z@example.org"]' "$(j '.[0].body.emails')"
expect_status 0 "$AMICALE_BIN" member edit 1 --visibility emails=private,employer=federation
expect_status 0 "$AMICALE_BIN" announcement list --kind profile --json
expect_eq "emails private again" null "$(j '.[0].body.emails')"
# A member added with consent is announced at once.
expect_status 0 "$AMICALE_BIN" member add --given-name Quentin --family-name Quasimodal --promo 2001 \
  --consent-federation yes --email quentin@example.fr
expect_status 0 "$AMICALE_BIN" announcement list --kind profile --json
expect_eq "member added with consent: announced" '[1,2]' "$(j '[.[].object]|sort')"
# Unpublish: consent cleared, a retraction, the content deleted.
expect_status 0 "$AMICALE_BIN" member unpublish 1
expect_eq "unpublish: text output" "Member 1 withdrawn from the federation (consent cleared, profile retracted)." "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" announcement list --kind profile --json
expect_eq "unpublish: profile 1 gone" '[2]' "$(j '[.[].object]')"
expect_status 0 "$AMICALE_BIN" announcement list --kind retraction --json
expect_eq "unpublish: a retraction of profile 1" '[[1,"profile"]]' "$(j '[.[]|select(.body.kind=="profile")|[.object,.body.kind]]')"
expect_eq "unpublish: no profile content left in the announcements" 0 "$(in_ann Zorglubian)"
expect_status 0 "$AMICALE_BIN" member show 1 --json
expect_eq "unpublish: consent cleared" null "$(j .consent_federation)"
expect_eq "unpublish: the member record is kept" '"Zorglubian"' "$(j .family_name)"
expect_status 4 "$AMICALE_BIN" member publish 1
expect_status 0 "$AMICALE_BIN" member unpublish 1
expect_eq "unpublish twice" "Member 1 was not shared with the federation." "$(cat "$OUT")"
# Consent again: a new version after the retraction.
expect_status 0 "$AMICALE_BIN" member edit 1 --consent-federation yes
expect_status 0 "$AMICALE_BIN" announcement list --kind profile --json
expect_eq "consent again: announced again" '[1,2]' "$(j '[.[].object]|sort')"
expect_status 0 "$AMICALE_BIN" member edit 1 --consent-federation no
expect_status 0 "$AMICALE_BIN" announcement list --kind profile --json
expect_eq "--consent-federation no: retracted" '[2]' "$(j '[.[].object]')"
# Removing a consenting member retracts the profile; the name leaves the store.
expect_eq "member 2 is in the store" 1 "$(in_ann Quasimodal)"
expect_status 0 "$AMICALE_BIN" member remove 2
expect_eq "removed member: no profile" 0 "$(count profile)"
expect_eq "removed member: name in no table" 0 "$(in_store Quasimodal)"
expect_status 0 "$AMICALE_BIN" announcement list --kind retraction --json
expect_eq "removed member: profile 2 retracted" 1 "$(j '[.[]|select(.body.kind=="profile" and .object==2)]|length')"

# ---- expiry: expired announcements are hidden, then deleted by the next write -------------------------
expect_status 0 "$AMICALE_BIN" event add --title "Ephemeral Quokka" --start "2026-02-01 18:00" --end "2026-02-01 20:00"
EPH=$(sed -n 's/^Event \([0-9]*\) published.*/\1/p' "$OUT")
expect_status 0 "$AMICALE_BIN" job add --title "Quick Wombat" --employer E --contract cdd --apply x --valid-through 2026-01-20
expect_eq "the event is in the store" 1 "$(in_ann Quokka)"
export AMICALE_NOW=1769976000 # 2026-02-01T20:00:00Z: the event's end
expect_status 0 "$AMICALE_BIN" event list --json
expect_eq "an event is not listed once it ended" '["1"]' "$(j '[.[].ref]')"
expect_status 0 "$AMICALE_BIN" job list --json
expect_eq "a job is not listed after its last day" '[]' "$(j '[.[].ref|select(.!="1")]')"
expect_status 3 "$AMICALE_BIN" event show "$EPH"
expect_err_contains "expired"
expect_status 0 "$AMICALE_BIN" event add --title "Any write" --start "2027-05-01 10:00" # prunes
expect_eq "pruned: the event's content left the store" 0 "$(in_store Quokka)"
expect_eq "pruned: the job's content left the store" 0 "$(in_store Wombat)"
expect_status 3 "$AMICALE_BIN" event show "$EPH"
expect_err_contains "expired"
expect_status 0 "$AMICALE_BIN" announcement list --kind event --json
expect_eq "pruned: not in announcement list" '[]' "$(j '[.[]|select(.body.title=="Ephemeral Quokka")]')"

# A failed command does not even prune: the store is exactly as before.
expect_status 0 "$AMICALE_BIN" job list --json
expect_eq "job 1 still current" '["1"]' "$(j '[.[].ref]')"
export AMICALE_NOW=1772496000 # 2026-03-03: job 1 has expired, not yet pruned
snapshot
expect_status 4 "$AMICALE_BIN" event add --title X --start "2027-01-15 19:00" --status maybe
expect_status 2 "$AMICALE_BIN" event add --title X
expect_status 3 "$AMICALE_BIN" event edit 99 --city Lyon
expect_status 3 "$AMICALE_BIN" job close 1
expect_status 3 "$AMICALE_BIN" member publish 1000
expect_status 0 "$AMICALE_BIN" event list
expect_status 0 "$AMICALE_BIN" announcement list
expect_status 0 "$AMICALE_BIN" announcement show "${EV1_NOW:0:12}"
expect_status 0 "$AMICALE_BIN" announcement export --output "$T/late.ann"
unchanged "failed writes and reads after an expiry"
expect_status 0 "$AMICALE_BIN" event edit 1 --city Lyon
expect_eq "a successful write prunes the expired job" 0 "$(in_store recrutement@thales.example)"
expect_status 3 "$AMICALE_BIN" job show 1
expect_err_contains "expired"

# ---- an id prefix made of decimal digits only ----------------------------------------------------------
# About one id in 43 starts with 8 decimal digits: such a prefix must still
# name the announcement, not be taken for this node's event number. A
# thousand profiles (one import) hold one for certain in practice.
DG="$T/digits"
new_node "$DG" "Digits"
awk 'BEGIN { print "family_name,given_name,consent_federation"
  for (i = 1; i <= 1000; i++) printf "Fam%d,Giv%d,yes\n", i, i }' >"$T/digits.csv"
expect_status 0 "$AMICALE_BIN" --dir "$DG" member import "$T/digits.csv"
P=$("$AMICALE_BIN" --dir "$DG" announcement list --kind profile --json | jq -r '.[].id[:8]' | grep -E -m1 '^[0-9]{8}$')
if [ -n "$P" ]; then
  expect_status 3 "$AMICALE_BIN" --dir "$DG" event show "$P"
  expect_err_contains "$P is a profile, not an event"
  expect_status 3 "$AMICALE_BIN" --dir "$DG" job show "$P"
  expect_err_contains "$P is a profile, not a job"
fi

# ---- an edit that changes nothing announces nothing ------------------------------------------------------
NC="$T/nochange"
new_node "$NC" "No change"
expect_status 0 "$AMICALE_BIN" --dir "$NC" event add --title "Gala" --start "2027-03-01 20:00" --timezone Europe/Paris --city Lyon --json
v1=$(j .version)
store_snapshot "$NC"
expect_status 0 "$AMICALE_BIN" --dir "$NC" event edit 1 --title "Gala" --city Lyon --start "2027-03-01 20:00"
expect_out_contains "unchanged (still version $v1)"
store_unchanged "$NC" "an edit to the same values"
expect_status 0 "$AMICALE_BIN" --dir "$NC" event edit 1 --city Paris --json
expect_eq "a real change is a new version" "true" "$(j "(.version > $v1) and (.body.city == \"Paris\")")"

# ---- expired announcements are no longer offered, even before a prune ------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$NC" announcement list --kind event --json
expect_eq "the event is listed before its end" 1 "$(j length)"
AMICALE_NOW=$((NOW0 + 5 * 365 * 86400)) run "$AMICALE_BIN" --dir "$NC" announcement list --kind event --json
expect_eq "announcement list leaves the expired event out" 0 "$(j length)"
AMICALE_NOW=$((NOW0 + 5 * 365 * 86400)) run "$AMICALE_BIN" --dir "$NC" announcement export --kind event --output "$T/expired.ann"
expect_eq "export leaves it out" 0 "$(stat -c %s "$T/expired.ann")"

finish
