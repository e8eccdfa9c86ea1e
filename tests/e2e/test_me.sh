#!/usr/bin/env bash
# A member on their own computer (issue 6), over real processes: the alumni
# office of school A invites a member, who logs in from their own
# configuration directory, searches the federation through A, edits their
# own record (the new profile reaches school B), changes consents and
# visibility, downloads everything A holds on them, and erases it (the
# profile leaves B's store too).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

export AMICALE_TIMEOUT_SCALE=0.1
node_init A school
node_init B school
for n in A B; do daemon_start "$n"; done
cli() { env -u AMICALE_MEMBER_DIR "$AMICALE_BIN" "$@"; }
peer_pair A B
cli member add --dir "$T/B" --given-name Bruno --family-name Peer --employer Bcorp \
  --consent-listed yes --consent-federation yes >/dev/null
cli member add --dir "$T/A" --given-name Camille --family-name Durand --email camille@example.org \
  --city Lille --phone "+33 6 00 00 00 01" --consent-listed yes >/dev/null
ID=$(cli member search --dir "$T/A" camille --json | jq -r '.members[0].id')

# ---- login ------------------------------------------------------------------------

expect_status 0 cli member invite --dir "$T/A" --address "$ADDR_A" "$ID"
CODE=$(grep -o 'amicale-login:[A-Za-z0-9_-]*' "$OUT" | head -1)
expect_ne "the invitation prints a code" "" "$CODE"
export AMICALE_MEMBER_DIR="$T/camille"
me() { AMICALE_DIR= AMICALE_HOME= "$AMICALE_BIN" "$@"; }
expect_status 0 me login "$CODE"
expect_out_contains "Camille"
expect_eq "the member key is readable by its owner only" 600 "$(stat -c %a "$T/camille/member.key")"
AMICALE_MEMBER_DIR="$T/someone-else" me login "$CODE" >"$T/again.out" 2>&1
expect_ne "a login code works once" 0 "$?"
expect_true "... and the second use says why" grep -q "refused the login code" "$T/again.out"

# ---- remote queries -----------------------------------------------------------------
wait_for "B's member reached A" 20 bash -c "'$AMICALE_BIN' search --dir '$T/A' bruno --json | jq -e '.total == 1' >/dev/null"
expect_status 0 me search bruno --json
expect_eq "a member finds another school's alumnus through their node" Bcorp "$(jq -r '.results[0].fields.employer' "$OUT")"
expect_eq "... with that alumnus' institution" "Node B" "$(jq -r '.results[0].institution.name' "$OUT")"
expect_status 0 me me show --json
expect_eq "me show: the member's own record" Lille "$(jq -r .member.city "$OUT")"
expect_eq "me show: the member sees their own private phone" "+33 6 00 00 00 01" "$(jq -r .member.phone "$OUT")"

# ---- edit and consent: the profile reaches B ------------------------------------------
expect_status 0 me me edit --job-title "Data engineer" --employer Acorp
expect_status 0 me me visibility employer=federation job_title=federation city=school
expect_status 2 me me consent --listed no --federation yes
expect_err_contains "contradict"
expect_status 0 me me consent --federation yes
in_b() { cli search --dir "$T/B" camille --json | jq -e --arg e "$1" '.results[] | select(.fields.employer == $e)' >/dev/null; }
wait_for "the member's own edit reached B" 20 in_b Acorp
expect_status 0 cli search --dir "$T/B" camille --json
expect_eq "B sees the federation fields" "Data engineer" "$(jq -r '.results[0].fields.job_title' "$OUT")"
expect_eq "B does not see the school-level city" null "$(jq -r '.results[0].fields.city' "$OUT")"
expect_status 0 me me edit --employer Acorp2
wait_for "a second edit replaces the first on B" 20 in_b Acorp2
expect_status 2 me me edit --no-such-field x
expect_status 2 me me edit --linkedin "not a url"
expect_err_contains "linkedin"

# ---- export -------------------------------------------------------------------------
umask 022 # the export must be private whatever the umask
echo "stale" >"$T/mine.json" && chmod 644 "$T/mine.json" && rm "$T/mine.json"
ln -s "$T/elsewhere" "$T/link.json"
expect_status 1 me me export --output "$T/link.json"
expect_err_contains "symbolic link"
expect_true "nothing written through the link" test ! -e "$T/elsewhere"
expect_status 0 me me export --output "$T/mine.json"
expect_eq "the export is the member's only" 600 "$(stat -c %a "$T/mine.json")"
expect_eq "export: the record" camille@example.org "$(jq -r '.member.emails[0]' "$T/mine.json")"
expect_eq "export: the federated profile as announced" Acorp2 "$(jq -r '.federated_profile.body.employer' "$T/mine.json")"
expect_eq "export: the member's keys" 1 "$(jq '.keys | length' "$T/mine.json")"

# ---- erasure ------------------------------------------------------------------------
expect_status 2 me me erase
expect_status 0 me me erase --yes --json
expect_eq "erase: the record is erased" true "$(jq .erased "$OUT")"
expect_eq "erase: the profile was withdrawn" true "$(jq .profile_retracted "$OUT")"
gone_b() { ! cli search --dir "$T/B" camille --json | jq -e '.total > 0' >/dev/null; }
wait_for "the erasure reached B" 20 gone_b
expect_eq "B's store no longer holds the member's name" 0 "$(mdb_dump -a -p "$T/B/store" | grep -c Durand)"
expect_eq "A's store no longer holds the member's name" 0 "$(mdb_dump -a -p "$T/A/store" | grep -c Durand)"
expect_true "the member is logged out" test ! -e "$T/camille/member.key"
expect_status 3 cli member show --dir "$T/A" "$ID"

finish
