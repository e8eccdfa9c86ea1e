#!/usr/bin/env bash
# Who sees what (issue 6), over real processes: two schools A and B, each
# its own amicaled, federated. On A, "Alice" has one field at each
# visibility level and consents to everything; "Hidden" consents to
# nothing. Viewers: the alumni manager of A (the CLI on A's data
# directory), a member of A and a member of B (each logged in from their own
# configuration, talking to their node over the network), the alumni
# manager of B, and a client whose key no node knows. Commands that return
# people: search, mentors, search --vcard and digest. For every viewer and
# command, every value that must show is there and none that must not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

export AMICALE_TIMEOUT_SCALE=0.1
node_init A school
node_init B school
for n in A B; do daemon_start "$n"; done
cli() { "$AMICALE_BIN" "$@"; }
peer_pair A B

# Alice: one value per level. Sector and phone private, city and bio for her
# school, employer and job title for the federation. A value that must not
# leak is unique, so a grep over a whole answer tells.
cli member add --dir "$T/A" --given-name Alice --family-name Martin --promo 2012 \
  --phone "+33 6 11 22 33 44" --sector Privatesector --city Schoolville --bio "Schoolbio text" \
  --employer Fedcorp --job-title "Fedtitle engineer" --mentoring yes --mentoring-topics Fedtopic \
  --consent-listed yes --consent-federation yes \
  --visibility "phone=private,sector=private,city=school,bio=school,employer=federation,job_title=federation,mentoring=federation,mentoring_topics=federation,promo=federation" \
  >/dev/null
# Hidden: shares nothing, lists nowhere (but the alumni office knows her).
cli member add --dir "$T/A" --given-name Hidden --family-name Person --employer Fedcorp \
  --mentoring yes --visibility "employer=federation,mentoring=federation" >/dev/null
# The members who look.
cli member add --dir "$T/A" --given-name Viewer --family-name Ofa --consent-listed yes >/dev/null
cli member add --dir "$T/B" --given-name Viewer --family-name Ofb --consent-listed yes >/dev/null
id_of() { cli member search --dir "$T/$1" "$2" --json | jq -r '.members[0].id'; }
cli trust add --dir "$T/B" "$KEY_A" --name A >/dev/null 2>&1 || true
wait_for "Alice's profile reached B" 20 bash -c \
  "'$AMICALE_BIN' search --dir '$T/B' Alice --json | jq -e '.total == 1' >/dev/null"

# Logging in: the manager's one-time code, used from the member's own
# configuration directory.
login() { # NODE MEMBER-NAME CONFIG-DIR
  local id code
  id=$(id_of "$1" "$2")
  local addr="ADDR_$1"
  code=$(cli member invite --dir "$T/$1" --address "${!addr}" "$id" | grep -o 'amicale-login:[A-Za-z0-9_-]*' | head -1)
  AMICALE_MEMBER_DIR="$3" cli login "$code" >"$T/login.out" 2>&1
}
expect_status 0 login A Ofa "$T/ma"
expect_status 0 login B Ofb "$T/mb"
# A client with a key no node knows: member A's configuration, another key.
mkdir -p "$T/stranger" && chmod 700 "$T/stranger"
cp "$T/ma/member.conf" "$T/stranger/"
cp "$T/B/node.key" "$T/stranger/member.key" && chmod 600 "$T/stranger/member.key"

as_manager_a() { env -u AMICALE_MEMBER_DIR "$AMICALE_BIN" --dir "$T/A" "$@"; }
as_manager_b() { env -u AMICALE_MEMBER_DIR "$AMICALE_BIN" --dir "$T/B" "$@"; }
as_member_a() { AMICALE_DIR= AMICALE_HOME= AMICALE_MEMBER_DIR="$T/ma" "$AMICALE_BIN" "$@"; }
as_member_b() { AMICALE_DIR= AMICALE_HOME= AMICALE_MEMBER_DIR="$T/mb" "$AMICALE_BIN" "$@"; }
as_stranger() { AMICALE_DIR= AMICALE_HOME= AMICALE_MEMBER_DIR="$T/stranger" "$AMICALE_BIN" "$@"; }

# What each viewer must and must not see of Alice (and of Hidden).
private_values=("+33 6 11 22 33 44" "Privatesector")
school_values=("Schoolville" "Schoolbio text")
federation_values=("Fedcorp" "Fedtitle engineer" "Alice")

# check VIEWER LABEL LEVEL HIDDEN MODE -- COMMAND...
# LEVEL: what the viewer may see of Alice: private (everything), school,
# federation, or none (refused). HIDDEN: whether the unlisted member shows
# (yes, no, or any when the command does not select her). MODE: full checks
# that what must show shows and what must not does not; leaks only the
# latter (a vCard writes some fields in its own forms).
check() {
  local who=$1 label=$2 level=$3 hidden=$4 mode=$5; shift 6
  local out="$T/answer.$who.$label" st
  "$who" "$@" >"$out" 2>"$out.err"
  st=$?
  if [ "$level" = none ]; then
    expect_ne "$who $label: refused" 0 "$st"
    for v in "${private_values[@]}" "${school_values[@]}" "${federation_values[@]}" Hidden; do
      expect_true "$who $label: shows nothing ($v)" bash -c "! grep -qF -- '$v' '$out' '$out.err'"
    done
    return
  fi
  expect_eq "$who $label: succeeds ($(head -c 200 "$out.err"))" 0 "$st"
  shows() { [ "$mode" = leaks ] || expect_true "$who $label shows '$1'" grep -qF -- "$1" "$out"; }
  hides() { expect_true "$who $label hides '$1'" bash -c "! grep -qF -- '$1' '$out'"; }
  expect_true "$who $label shows Alice" grep -qF Alice "$out"
  for v in "${federation_values[@]}"; do shows "$v"; done
  for v in "${school_values[@]}"; do
    if [ "$level" = federation ]; then hides "$v"; else shows "$v"; fi
  done
  for v in "${private_values[@]}"; do
    if [ "$level" = private ]; then shows "$v"; else hides "$v"; fi
  done
  case $hidden in
    yes) expect_true "$who $label shows the unlisted member" grep -qF Hidden "$out" ;;
    no) hides Hidden ;;
  esac
}

for viewer in "as_manager_a private yes" "as_member_a school no" "as_member_b federation no" \
              "as_manager_b federation no" "as_stranger none no"; do
  set -- $viewer
  who=$1 level=$2 hidden=$3
  check "$who" search "$level" "$hidden" full -- search --json --limit 100
  check "$who" search-text "$level" any full -- search martin --json
  check "$who" vcard "$level" "$hidden" leaks -- search --vcard --limit 100
  check "$who" mentors "$level" "$hidden" full -- mentors --json
  # A digest names people briefly (no bio, no phone): what it must not show.
  check "$who" digest "$level" "$hidden" leaks -- digest --since 1d --json
done

expect_true "the digest shows a member of A Alice's school-level city" grep -qF Schoolville "$T/answer.as_member_a.digest"
expect_true "the digest hides it from a member of B" bash -c "! grep -qF Schoolville '$T/answer.as_member_b.digest'"

# A filter only matches what the viewer may see: a private sector finds
# Alice for her alumni office only; a school-level city for her school.
found() { "$@" --json | jq -e '.total >= 1' >/dev/null; }
expect_true "manager finds by private sector" found as_manager_a search --sector Privatesector
expect_true "member of A cannot find by private sector" bash -c "! $(declare -f as_member_a found); found as_member_a search --sector Privatesector"
expect_true "member of A finds by school city" found as_member_a search --city Schoolville
expect_true "member of B cannot find by A's school city" bash -c "! $(declare -f as_member_b found); found as_member_b search --city Schoolville"
expect_true "member of B finds by federation employer" found as_member_b search --employer Fedcorp
expect_true "member of B finds Alice's mentoring topic" found as_member_b mentors --topic Fedtopic
expect_true "member of B cannot find by private sector" bash -c "! $(declare -f as_member_b found); found as_member_b search --sector Privatesector"

# Nothing private ever reached B's database.
for v in "${private_values[@]}" "${school_values[@]}"; do
  expect_eq "B's store does not hold '$v'" 0 "$(mdb_dump -a -p "$T/B/store" | grep -cF -- "$v")"
done

finish
