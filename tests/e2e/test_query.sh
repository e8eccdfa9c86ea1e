#!/usr/bin/env bash
# Queries across the federation (issue 6), over real processes: school A
# and company B, federated; events and job offers on both, members on
# both. From A: people, events, jobs and mentors of both institutions with
# their filters; the iCalendar export parsed by python3-icalendar (field by
# field, imported twice, an edit and a cancellation re-imported); the vCard
# export parsed by python3-vobject; the digest in its three formats.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

export AMICALE_TIMEOUT_SCALE=0.1
PY=/usr/bin/python3
TOOLS="$(dirname "$0")/../tools"
node_init A school
node_init B company
for n in A B; do daemon_start "$n"; done
cli() { "$AMICALE_BIN" "$@"; }
peer_pair A B

cli member add --dir "$T/A" --given-name Éléonore --family-name Dubois --promo 2012 --city Montréal \
  --employer Airbus --sector Aéronautique --skill Python --consent-federation yes >/dev/null
cli member add --dir "$T/B" --given-name Zoé --family-name Lœvenbruck --promo 2015 --city Lyon \
  --employer Thales --sector Défense --job-title "Ingénieure systèmes" --mentoring yes \
  --mentoring-topics "Création d'entreprise" --consent-federation yes >/dev/null
cli member add --dir "$T/B" --given-name Marc --family-name Privé --city Lyon --employer Thales >/dev/null
cli event add --dir "$T/B" --title "Afterwork Lyon" --start "2030-12-10 19:00" --end "2030-12-10 22:00" \
  --timezone Europe/Paris --venue "Le Sucre" --city Lyon --country France --tag afterwork \
  --registration https://b.example/aw >/dev/null
cli event add --dir "$T/B" --title "Webinaire IA, saison 2; épisode 1" --start 2030-11-05T12:30+01:00 \
  --online-url https://meet.example/ia --tag ia >/dev/null
cli event add --dir "$T/A" --title "Gala des anciens" --start "2030-06-12 19:30" --timezone Europe/Paris \
  --city Montréal --country Canada --tag gala >/dev/null
cli event add --dir "$T/A" --title "Past reunion" --start "2020-01-10 19:00" --timezone Europe/Paris \
  --city Paris >/dev/null 2>&1 || true
# Posted a few minutes apart, so that "newest first" has an order to show.
NOW=$(date +%s)
AMICALE_NOW=$((NOW - 300)) cli job add --dir "$T/B" --title "Stage data" --employer Thales --contract stage --city Lyon \
  --skills "Python;SQL" --apply https://b.example/j1 >/dev/null
AMICALE_NOW=$((NOW - 200)) cli job add --dir "$T/B" --title "Alternance développeur" --employer Thales --contract alternance \
  --city Toulouse --remote remote --skills Python --alumni-only yes --apply https://b.example/j2 >/dev/null
AMICALE_NOW=$((NOW - 100)) cli job add --dir "$T/A" --title "CDI ingénieur" --employer Airbus --contract cdi --city Toulouse \
  --apply https://a.example/j3 >/dev/null

count() { cli "$@" --json | jq '.total'; }
wait_for "B's events, jobs and people reached A" 20 bash -c \
  "[ \"\$('$AMICALE_BIN' events --dir '$T/A' --json | jq .total)\" = 3 ] &&
   [ \"\$('$AMICALE_BIN' jobs --dir '$T/A' --json | jq .total)\" = 3 ] &&
   [ \"\$('$AMICALE_BIN' search --dir '$T/A' --json | jq .total)\" = 2 ]"

# ---- people --------------------------------------------------------------------------
am search --dir "$T/A" --json
expect_eq "search: both institutions' people, by name" "Dubois|Lœvenbruck" "$(jq -r '[.results[].fields.family_name]|join("|")' "$OUT")"
expect_eq "search: each with its institution" "Node A|Node B" "$(jq -r '[.results[].institution.name]|join("|")' "$OUT")"
expect_eq "search: institution kinds" "school|company" "$(jq -r '[.results[].institution.kind]|join("|")' "$OUT")"
expect_eq "a member without consent stays on B" 0 "$(count search --dir "$T/A" prive)"
expect_eq "free text, accents ignored" 1 "$(count search --dir "$T/A" loevenbruck)"
expect_eq "free text, case ignored" 1 "$(count search --dir "$T/A" ELEONORE)"
expect_eq "--city, accents ignored" 1 "$(count search --dir "$T/A" --city montreal)"
expect_eq "--institution by name words" 1 "$(count search --dir "$T/A" --institution "node b")"
expect_eq "--institution by key" 1 "$(count search --dir "$T/A" --institution "$KEY_B")"
expect_eq "--institution-kind" 1 "$(count search --dir "$T/A" --institution-kind school)"
expect_eq "--promo range" 1 "$(count search --dir "$T/A" --promo 2014-2016)"
expect_eq "--promo range + --employer" 0 "$(count search --dir "$T/A" --promo 2014-2016 --employer Airbus)"
expect_eq "--sector" 1 "$(count search --dir "$T/A" --sector defense)"
expect_eq "--job-title words" 1 "$(count search --dir "$T/A" --job-title ingenieure)"
expect_eq "--skill" 1 "$(count search --dir "$T/A" --skill python)"
expect_eq "mentors" 1 "$(count mentors --dir "$T/A")"
expect_eq "mentors --topic" 1 "$(count mentors --dir "$T/A" --topic "creation d'entreprise")"
expect_eq "--limit/--offset" "Lœvenbruck" "$(cli search --dir "$T/A" --limit 1 --offset 1 --json | jq -r '.results[0].fields.family_name')"
am search --dir "$T/A" --institution "nowhere at all"
expect_status 3 cli search --dir "$T/A" --institution "nowhere at all"
expect_err_contains "no institution"
expect_status 2 cli search --dir "$T/A" --promo 20x5
expect_status 2 cli search --dir "$T/A" --institution-kind castle
am search --dir "$T/A" --city Lyon
expect_out_contains "Zoé Lœvenbruck"
expect_out_contains "Node B"

# ---- events and jobs -----------------------------------------------------------------
titles() { cli "$@" --json | jq -r '[.results[].body.title]|join("|")'; }
expect_eq "events: upcoming, soonest first, every institution" \
  "Gala des anciens|Webinaire IA, saison 2; épisode 1|Afterwork Lyon" "$(titles events --dir "$T/A")"
expect_eq "events --city" "Afterwork Lyon" "$(titles events --dir "$T/A" --city lyon)"
expect_eq "events --online" "Webinaire IA, saison 2; épisode 1" "$(titles events --dir "$T/A" --online)"
expect_eq "events --tag" "Gala des anciens" "$(titles events --dir "$T/A" --tag gala)"
expect_eq "events --institution" "Webinaire IA, saison 2; épisode 1|Afterwork Lyon" "$(titles events --dir "$T/A" --institution "node b")"
expect_eq "events --from/--to" "Webinaire IA, saison 2; épisode 1|Afterwork Lyon" \
  "$(titles events --dir "$T/A" --from 2030-11-01 --to 2030-12-31)"
expect_eq "events --country" "Gala des anciens" "$(titles events --dir "$T/A" --country canada)"
expect_eq "jobs: newest first" "CDI ingénieur|Alternance développeur|Stage data" "$(titles jobs --dir "$T/A")"
expect_eq "jobs --type stage (French word)" "Stage data" "$(titles jobs --dir "$T/A" --type stage)"
expect_eq "jobs --type alternance --skill" "Alternance développeur" "$(titles jobs --dir "$T/A" --type alternance --skill python)"
expect_eq "jobs --remote" "Alternance développeur" "$(titles jobs --dir "$T/A" --remote)"
expect_eq "jobs --alumni-only" "Alternance développeur" "$(titles jobs --dir "$T/A" --alumni-only)"
expect_eq "jobs --city" "CDI ingénieur|Alternance développeur" "$(titles jobs --dir "$T/A" --city toulouse)"
expect_status 2 cli jobs --dir "$T/A" --type permanent-ish
expect_err_contains "cdi"
am events --dir "$T/A"
expect_out_contains "Afterwork Lyon"
expect_out_contains "Node B"

# ---- iCalendar -----------------------------------------------------------------------
expect_status 0 cli events export --dir "$T/A" --ics --output "$T/v1.ics"
expect_status 0 "$PY" "$TOOLS/check_ics.py" "$T/v1.ics"
cp "$OUT" "$T/v1.json"
expect_eq "ics: three events" 3 "$(jq '.events|length' "$T/v1.json")"
ev() { jq -r --arg s "$1" ".events[] | select(.summary == \$s) | .$2" "$T/v1.json"; }
expect_eq "ics: start in UTC (19:00 in Paris)" 2030-12-10T18:00:00Z "$(ev "Afterwork Lyon" dtstart)"
expect_eq "ics: end" 2030-12-10T21:00:00Z "$(ev "Afterwork Lyon" dtend)"
expect_eq "ics: location" "Le Sucre, Lyon, France" "$(ev "Afterwork Lyon" location)"
expect_eq "ics: registration URL" https://b.example/aw "$(ev "Afterwork Lyon" url)"
expect_eq "ics: categories" afterwork "$(ev "Afterwork Lyon" 'categories[0]')"
expect_eq "ics: institution" "Node B" "$(ev "Afterwork Lyon" institution)"
expect_eq "ics: scheduled is confirmed" CONFIRMED "$(ev "Afterwork Lyon" status)"
expect_eq "ics: commas and semicolons survive" 2030-11-05T11:30:00Z "$(ev "Webinaire IA, saison 2; épisode 1" dtstart)"
expect_status 0 "$PY" "$TOOLS/check_ics.py" --import-twice "$T/v1.ics"
# An edit and a cancellation on B, exported again: a calendar importing the
# new file updates the two events (same UID, higher SEQUENCE), adds nothing.
B_AW=$(cli event list --dir "$T/B" --json | jq -r '.[] | select(.body.title == "Afterwork Lyon") | .object')
B_IA=$(cli event list --dir "$T/B" --json | jq -r '.[] | select(.body.title | startswith("Webinaire")) | .object')
expect_status 0 cli event edit --dir "$T/B" "$B_AW" --venue "La Sucrière"
expect_status 0 cli event cancel --dir "$T/B" "$B_IA"
moved() { cli events --dir "$T/A" --cancelled --json | jq -e '[.results[].body] | any(.venue == "La Sucrière") and any(.status == "cancelled")' >/dev/null; }
wait_for "the edit and the cancellation reached A" 20 moved
expect_status 0 cli events export --dir "$T/A" --ics --output "$T/v2.ics"
expect_status 0 "$PY" "$TOOLS/check_ics.py" --merge "$T/v1.ics" "$T/v2.ics"
expect_eq "re-import: still three events" 3 "$(jq '.events|length' "$OUT")"
expect_eq "re-import: nothing only in the old file" 0 "$(jq '.only_in_old|length' "$OUT")"
expect_eq "re-import: the edit is in" "La Sucrière, Lyon, France" \
  "$(jq -r '.events[] | select(.summary == "Afterwork Lyon") | .location' "$OUT")"
expect_eq "re-import: the cancellation is STATUS:CANCELLED" CANCELLED \
  "$(jq -r '.events[] | select(.summary | startswith("Webinaire")) | .status' "$OUT")"
expect_eq "the cancelled event is not listed as upcoming" "Gala des anciens|Afterwork Lyon" "$(titles events --dir "$T/A")"

# ---- vCard ---------------------------------------------------------------------------
umask 022
expect_status 0 cli search --dir "$T/A" --vcard --output "$T/people.vcf"
expect_eq "vcard: the file of people's details is private" 600 "$(stat -c %a "$T/people.vcf")"
expect_status 0 "$PY" "$TOOLS/check_vcard.py" "$T/people.vcf"
expect_eq "vcard: two cards" 2 "$(jq '.cards|length' "$OUT")"
card() { jq -r --arg f "$1" ".cards[] | select(.n.family == \$f) | .$2" "$OUT"; }
expect_eq "vcard: FN" "Zoé Lœvenbruck" "$(card Lœvenbruck fn)"
expect_eq "vcard: employer as ORG" Thales "$(card Lœvenbruck 'org[0][0]')"
expect_eq "vcard: title" "Ingénieure systèmes" "$(card Lœvenbruck title)"
expect_eq "vcard: city" Lyon "$(card Lœvenbruck 'adr[0].locality')"
expect_eq "vcard: institution" "Node B" "$(card Lœvenbruck institution)"
expect_eq "vcard: the other institution's member" "Node A" "$(card Dubois institution)"
expect_match "vcard: stable UID naming the institution" "^urn:amicale:$KEY_B:" "$(card Lœvenbruck uid)"

# ---- digest ------------------------------------------------------------------------------
expect_status 0 cli digest --dir "$T/A" --since 1d --json
expect_eq "digest: new events" 2 "$(jq '.events|length' "$OUT")"
expect_eq "digest: new jobs" 3 "$(jq '.jobs|length' "$OUT")"
expect_eq "digest: new members per institution" "Node A:1|Node B:1" \
  "$(jq -r '[.institutions[] | "\(.institution.name):\(.new_members)"] | sort | join("|")' "$OUT")"
expect_status 0 cli digest --dir "$T/A" --since 7d --format markdown
expect_out_contains "Afterwork Lyon"
expect_out_contains "Stage data"
expect_status 0 cli digest --dir "$T/A" --since 7d --format html --output "$T/digest.html"
expect_true "digest html: a whole document" grep -q "</html>" "$T/digest.html"
expect_true "digest html: texts are escaped" grep -q "Cr&#39;\|Création d&#39;\|Lœvenbruck" "$T/digest.html"
expect_status 2 cli digest --dir "$T/A" --format pdf

finish
