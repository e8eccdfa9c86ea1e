#!/usr/bin/env bash
# amicale member add / show / edit / remove / list: field flags, defaults,
# validation, JSON, ids, and the aligned table.
. "$(dirname "$0")/lib.sh"

export AMICALE_NOW=1718000000 # 2024-06-10T06:13:20Z
export AMICALE_DIR="$T/node"
new_node "$AMICALE_DIR"

# ---- add with many field flags -------------------------------------------------------
expect_status 0 "$AMICALE_BIN" member add \
  --given-name "Marie" --family-name "Dupont" --usual-name "Dupont-Roux" \
  --email "Marie.Dupont@Example.FR" --phone "+33 6 12 34 56 78" --promo 2012 \
  --programme "Ingénieur généraliste" --diploma "Diplôme d'ingénieur" --department "Informatique" \
  --employer "Société Générale" --job-title "Analyste risques" --sector Banque \
  --city Paris --country France --skill Python --skill SQL --language Français --language Anglais \
  --linkedin "linkedin.com/in/marie-dupont" --website "https://marie.example.org/" \
  --bio $'Première ligne.\nSeconde ligne.' --mentoring yes --mentoring-topics "Finance; Data" \
  --dues-paid-until 2025-06-30 --dues-lifetime no --consent-listed yes \
  --visibility emails=federation
expect_eq "add output" "Added member 1: Marie Dupont (Dupont-Roux)" "$(cat "$OUT")"
expect_err_empty

expect_status 0 "$AMICALE_BIN" member show 1 --json
cp "$OUT" "$T/m1.json"
j() { jq -c "$1" "$T/m1.json"; }
expect_eq "json id" 1 "$(j .id)"
expect_eq "json given_name" '"Marie"' "$(j .given_name)"
expect_eq "json family_name" '"Dupont"' "$(j .family_name)"
expect_eq "json usual_name" '"Dupont-Roux"' "$(j .usual_name)"
expect_eq "email normalised to lower case" '["marie.dupont@example.fr"]' "$(j .emails)"
expect_eq "json phone" '"+33 6 12 34 56 78"' "$(j .phone)"
expect_eq "json promo is a number" 2012 "$(j .promo)"
expect_eq "json programme" '"Ingénieur généraliste"' "$(j .programme)"
expect_eq "json diploma" "\"Diplôme d'ingénieur\"" "$(j .diploma)"
expect_eq "json department" '"Informatique"' "$(j .department)"
expect_eq "json employer" '"Société Générale"' "$(j .employer)"
expect_eq "json job_title" '"Analyste risques"' "$(j .job_title)"
expect_eq "json sector" '"Banque"' "$(j .sector)"
expect_eq "json city" '"Paris"' "$(j .city)"
expect_eq "json country" '"France"' "$(j .country)"
expect_eq "--skill A --skill B add up" '["Python","SQL"]' "$(j .skills)"
expect_eq "--language twice adds up" '["Français","Anglais"]' "$(j .languages)"
expect_eq "linkedin gets https://" '"https://linkedin.com/in/marie-dupont"' "$(j .linkedin)"
expect_eq "json website" '"https://marie.example.org/"' "$(j .website)"
expect_eq "multi-line bio kept" '"Première ligne.\nSeconde ligne."' "$(j .bio)"
expect_eq "json mentoring" true "$(j .mentoring)"
expect_eq "json mentoring_topics" '["Finance","Data"]' "$(j .mentoring_topics)"
expect_eq "json dues_paid_until" '"2025-06-30"' "$(j .dues_paid_until)"
expect_eq "json dues_lifetime" false "$(j .dues_lifetime)"
expect_eq "consent yes is today (AMICALE_NOW)" '"2024-06-10"' "$(j .consent_listed)"
expect_eq "consent not given is null" null "$(j .consent_federation)"
expect_eq "--visibility emails=federation" '"federation"' "$(j .visibility.emails)"
expect_eq "phone stays private" '"private"' "$(j .visibility.phone)"
expect_eq "created from AMICALE_NOW" '"2024-06-10T06:13:20Z"' "$(j .created)"
expect_eq "updated from AMICALE_NOW" '"2024-06-10T06:13:20Z"' "$(j .updated)"
fields=$(member_fields | jq -R . | jq -s -c .)
expect_eq "the field table has at least the 25 fields this test knows" 25 \
  "$(jq '[.[]|select(IN("given_name","family_name","usual_name","emails","phone","promo","programme","diploma","department","employer","job_title","sector","city","country","skills","languages","linkedin","website","bio","mentoring","mentoring_topics","dues_paid_until","dues_lifetime","consent_listed","consent_federation"))]|length' <<<"$fields")"
expect_eq "json keys: id, the fields in table order, visibility, created, updated" \
  "$(jq -c '["id"] + . + ["visibility","created","updated"]' <<<"$fields")" "$(jq -c keys_unsorted "$T/m1.json")"
expect_eq "visibility covers the 21 profile fields" '[]' \
  "$(j '["given_name","family_name","usual_name","emails","phone","promo","programme","diploma","department","employer","job_title","sector","city","country","skills","languages","linkedin","website","bio","mentoring","mentoring_topics"] - (.visibility|keys)')"
expect_eq "no visibility for administrative fields" '[]' \
  "$(j '.visibility|keys|map(select(IN("dues_paid_until","dues_lifetime","consent_listed","consent_federation")))')"
expect_eq "visibility keys are fields" '[]' "$(jq -c --argjson f "$fields" '(.visibility|keys) - $f' "$T/m1.json")"

# add --json prints the same record
expect_status 0 "$AMICALE_BIN" member add --given-name Paul --family-name Martin --json
expect_eq "add --json id" 2 "$(jq .id "$OUT")"
expect_eq "add --json given_name" '"Paul"' "$(jq -c .given_name "$OUT")"

# ---- the human form of show -----------------------------------------------------------
expect_status 0 "$AMICALE_BIN" member show 1
expect_eq "show first line" "Member 1: Marie Dupont (Dupont-Roux)" "$(sed -n 1p "$OUT")"
expect_match "show: Emails line with its visibility" 'Emails +marie\.dupont@example\.fr +\[federation\]' "$(grep Emails "$OUT")"
expect_match "show: Phone line private" 'Phone +\+33 6 12 34 56 78 +\[private\]' "$(grep Phone "$OUT")"
expect_match "show: graduation year" 'Graduation year +2012 +\[federation\]' "$(grep 'Graduation year' "$OUT")"
expect_match "show: consent date" 'Consent: listed in directory +2024-06-10$' "$(grep 'listed in directory' "$OUT")"
expect_eq "show: bio keeps its two lines" 2 "$(grep -c -e 'Première ligne' -e 'Seconde ligne' "$OUT")"
expect_out_not_contains "Consent: shared with the federation"

# ---- defaults ------------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" member show 2 --json
expect_eq "default: emails private" '"private"' "$(jq -c .visibility.emails "$OUT")"
expect_eq "default: phone private" '"private"' "$(jq -c .visibility.phone "$OUT")"
# Links and the bio stay in the school; the rest of the profile may be
# federated, which still needs the member's consent.
expect_eq "default: links and bio school" '["school","school","school"]' \
  "$(jq -c '[.visibility.linkedin, .visibility.website, .visibility.bio]' "$OUT")"
expect_eq "default: every other profile field federation" '[]' \
  "$(jq -c '[.visibility|to_entries[]|select((.key|IN("emails","phone","linkedin","website","bio")|not) and .value!="federation")]' "$OUT")"
expect_eq "default: consent_listed null" null "$(jq -c .consent_listed "$OUT")"
expect_eq "default: consent_federation null" null "$(jq -c .consent_federation "$OUT")"
expect_eq "default: lists empty" '[[],[],[],[],[]]' "$(jq -c '[.emails,.skills,.languages,.mentoring_topics,[]]' "$OUT")"
expect_eq "default: mentoring false" false "$(jq -c .mentoring "$OUT")"
expect_eq "default: promo null" null "$(jq -c .promo "$OUT")"

# ---- consents ----------------------------------------------------------------------------------
AMICALE_NOW=1730000000 run "$AMICALE_BIN" member edit 1 --consent-listed yes --consent-federation oui --json
expect_eq "consent yes keeps an earlier date" '"2024-06-10"' "$(jq -c .consent_listed "$OUT")"
expect_eq "consent oui on a later day is that day" '"2024-10-27"' "$(jq -c .consent_federation "$OUT")"
expect_eq "edit keeps created" '"2024-06-10T06:13:20Z"' "$(jq -c .created "$OUT")"
expect_eq "edit moves updated" '"2024-10-27T03:33:20Z"' "$(jq -c .updated "$OUT")"
am member edit 1 --consent-federation no --json
expect_eq "consent no withdraws" null "$(jq -c .consent_federation "$OUT")"
am member edit 1 --consent-federation 02/01/2023 --json
expect_eq "consent as DD/MM/YYYY" '"2023-01-02"' "$(jq -c .consent_federation "$OUT")"

# ---- duplicates ------------------------------------------------------------------------------------
dump_store "$AMICALE_DIR" "$T/before.dump"
count_before=$(member_count "$AMICALE_DIR")
expect_status 5 "$AMICALE_BIN" member add --given-name Other --family-name Person --email "MARIE.DUPONT@example.fr"
expect_err_contains "marie.dupont@example.fr"
expect_err_contains "member 1"
expect_eq "duplicate add: member count unchanged" "$count_before" "$(member_count "$AMICALE_DIR")"
dump_store "$AMICALE_DIR" "$T/after.dump"
expect_files_equal "duplicate add: store unchanged" "$T/before.dump" "$T/after.dump"
expect_status 5 "$AMICALE_BIN" member edit 2 --email marie.dupont@example.fr
am member show 2 --json
expect_eq "refused edit left member 2's addresses" '[]' "$(jq -c .emails "$OUT")"
# The same address twice for one member is one address.
expect_status 0 "$AMICALE_BIN" member edit 2 --email "paul@example.fr; PAUL@example.fr" --json
expect_eq "one address, once" '["paul@example.fr"]' "$(jq -c .emails "$OUT")"

# ---- invalid values: exit 4, message names the flag ---------------------------------------------------
bad() { # bad FLAG-IN-MESSAGE ARGS...
  local flag=$1
  shift
  expect_status 4 "$AMICALE_BIN" member add --given-name Bad --family-name Value "$@"
  expect_err_contains "$flag"
}
bad "--email: 'not-an-address'" --email "not-an-address"
bad "--email: 'a@b@example.fr'" --email "a@b@example.fr"
bad "--email: 'broken@'" --email "ok@example.fr" --email "broken@"
bad "--emails: 'bad'" --email "ok@example.fr" --emails "bad"
bad "--promo: year 3015" --promo 3015
bad "--promo" --promo 1899
bad "--promo" --promo "20x2"
bad "--website: 'ftp://example.org'" --website "ftp://example.org"
bad "--website" --website "not a url"
bad "--linkedin" --linkedin "linkedin"
bad "--dues-paid-until" --dues-paid-until 2024-13-45
bad "--dues-paid-until" --dues-paid-until 31/02/2024
bad "--consent-listed" --consent-listed maybe
bad "--phone" --phone "call me"
bad "--mentoring" --mentoring perhaps
bad "--skill: " --skill ok --skill "$(head -c 101 /dev/zero | tr "\0" s)"
bad "--given-name" --given-name "$(printf 'Bad\007')"
bad "--bio" --bio "$(head -c 2001 /dev/zero | tr '\0' x)"
expect_status 4 "$AMICALE_BIN" member add --email nobody@example.fr
expect_err_contains "name"
expect_eq "no invalid member was added" "$count_before" "$(member_count "$AMICALE_DIR")"
expect_status 4 "$AMICALE_BIN" member edit 1 --promo 3015
expect_err_contains "--promo"
am member show 1 --json
expect_eq "refused edit kept the promo" 2012 "$(jq .promo "$OUT")"

# ---- usage errors -------------------------------------------------------------------------------------
expect_status 2 "$AMICALE_BIN" member add --given-name A --family-name B --favourite-colour blue
expect_err_contains "--favourite-colour"
expect_status 2 "$AMICALE_BIN" member add --given-name A --family-name B positional
expect_status 2 "$AMICALE_BIN" member add --given-name
expect_status 2 "$AMICALE_BIN" member edit 1
expect_status 2 "$AMICALE_BIN" member edit --city Paris
expect_status 2 "$AMICALE_BIN" member show
expect_status 2 "$AMICALE_BIN" member show abc
expect_status 2 "$AMICALE_BIN" member show 0
expect_status 2 "$AMICALE_BIN" member show -- -1
expect_status 2 "$AMICALE_BIN" member frobnicate
expect_status 2 "$AMICALE_BIN" member add --given-name A --family-name B --visibility emails=public
expect_err_contains "--visibility"
expect_status 2 "$AMICALE_BIN" member add --given-name A --family-name B --visibility dues_paid_until=school
expect_err_contains "--visibility"
expect_eq "no member added by usage errors" "$count_before" "$(member_count "$AMICALE_DIR")"

# ---- show / find ---------------------------------------------------------------------------------------
expect_status 3 "$AMICALE_BIN" member show 999
expect_err_contains "999"
expect_status 3 "$AMICALE_BIN" member show nobody@example.fr
expect_status 0 "$AMICALE_BIN" member show "Marie.DUPONT@example.FR" --json
expect_eq "show by email (any case)" 1 "$(jq .id "$OUT")"
expect_status 0 "$AMICALE_BIN" member edit marie.dupont@example.fr --city Lyon --json
expect_eq "edit by email" '"Lyon"' "$(jq -c .city "$OUT")"
expect_eq "edit changes only what it names" '"Société Générale"' "$(jq -c .employer "$OUT")"
expect_status 0 "$AMICALE_BIN" member edit 1 --city Paris
expect_eq "edit output" "Updated member 1: Marie Dupont (Dupont-Roux)" "$(cat "$OUT")"

# ---- edit of list fields replaces the list; empty clears -------------------------------------------------
am member edit 1 --skill Go --json
expect_eq "edit --skill replaces the list" '["Go"]' "$(jq -c .skills "$OUT")"
am member edit 1 --skill "Rust, C;Zig" --skill rust --json
expect_eq "separators and repeats in one edit" '["Rust","C","Zig"]' "$(jq -c .skills "$OUT")"
expect_eq "other lists untouched" '["Français","Anglais"]' "$(jq -c .languages "$OUT")"
am member edit 1 --skill "" --usual-name "" --promo "" --json
expect_eq "empty value clears a list" '[]' "$(jq -c .skills "$OUT")"
expect_eq "empty value clears a text" null "$(jq -c .usual_name "$OUT")"
expect_eq "empty value clears a year" null "$(jq -c .promo "$OUT")"
am member edit 1 --promo 2012 --email "marie@example.com" --email "m.dupont@example.org" --json
expect_eq "edit --email replaces the addresses" '["marie@example.com","m.dupont@example.org"]' "$(jq -c .emails "$OUT")"
expect_status 3 "$AMICALE_BIN" member show marie.dupont@example.fr
expect_status 0 "$AMICALE_BIN" member add --given-name Reuse --family-name Address --email marie.dupont@example.fr
expect_eq "a released address can be taken" 0 "$RC"
am member edit 1 --visibility "phone=school, emails=private" --json
expect_eq "visibility edit: phone" '"school"' "$(jq -c .visibility.phone "$OUT")"
expect_eq "visibility edit: emails" '"private"' "$(jq -c .visibility.emails "$OUT")"

# ---- text cleaning ----------------------------------------------------------------------------------------
am member add --given-name "$(printf 'Zoe\xcc\x88')" --family-name "  Lefèvre  " --json
zoe_id=$(jq .id "$OUT")
expect_eq "names normalised to NFC" '[90,111,235]' "$(jq -c '.given_name|explode' "$OUT")"
expect_eq "names trimmed" '"Lefèvre"' "$(jq -c .family_name "$OUT")"

# ---- remove; ids never reused ------------------------------------------------------------------------------
am member list --limit 0 --json
max_id=$(jq '[.members[].id]|max' "$OUT")
expect_status 0 "$AMICALE_BIN" member remove "$max_id"
expect_match "remove output" "^Removed member $max_id: " "$(cat "$OUT")"
expect_status 3 "$AMICALE_BIN" member show "$max_id"
expect_status 3 "$AMICALE_BIN" member remove "$max_id"
am member add --given-name New --family-name Comer --json
expect_eq "ids are not reused after remove" $((max_id + 1)) "$(jq .id "$OUT")"
expect_status 0 "$AMICALE_BIN" member remove marie@example.com
expect_status 3 "$AMICALE_BIN" member show 1
expect_status 3 "$AMICALE_BIN" member show m.dupont@example.org
expect_status 0 "$AMICALE_BIN" member add --given-name Taker --family-name Of --email m.dupont@example.org --json
expect_eq "remove frees the addresses, new id" $((max_id + 2)) "$(jq .id "$OUT")"
am member list --limit 0 --json
expect_eq "removed member not listed" '[]' "$(jq -c '[.members[]|select(.id==1)]' "$OUT")"
# A removed member no longer matches a search.
expect_status 0 "$AMICALE_BIN" member search dupont --json
expect_eq "removed member not found by search" 0 "$(jq .total "$OUT")"

# ---- list / search --json ---------------------------------------------------------------------------------
am member list --json
expect_eq "list --json envelope" '["total","offset","limit","members"]' "$(jq -c keys_unsorted "$OUT")"
total=$(jq .total "$OUT")
expect_eq "list total = members listed" "$total" "$(jq '.members|length' "$OUT")"
expect_eq "default limit" 50 "$(jq .limit "$OUT")"
expect_eq "list sorted by family name" \
  "$(jq -c '[.members[]|.family_name|ascii_downcase]|sort' "$OUT")" \
  "$(jq -c '[.members[]|.family_name|ascii_downcase]' "$OUT")"
expect_status 0 "$AMICALE_BIN" member search --text paul --json
expect_eq "search --json finds Paul" '["Paul"]' "$(jq -c '[.members[].given_name]' "$OUT")"
expect_status 2 "$AMICALE_BIN" member list something
expect_status 2 "$AMICALE_BIN" member list --limit -1
expect_status 2 "$AMICALE_BIN" member list --sort age
expect_status 2 "$AMICALE_BIN" member list --format csv

# ---- table alignment with accented and wide names --------------------------------------------------------
export AMICALE_DIR="$T/table"
new_node "$AMICALE_DIR"
add() { "$AMICALE_BIN" member add "$@" >/dev/null 2>>"$T/table.err" || echo "setup add failed: $*" >>"$T/table.err"; }
add --given-name "Éléonore" --family-name "Dubois" --usual-name "Dubois-Ré" --promo 2012 --employer "Société Générale" --city Paris
add --given-name "Marie" --family-name "Dupont" --promo 2010 --programme "Master" --employer "Airbus" --city "Toulouse"
add --given-name "太郎" --family-name "山田" --promo 2013 --employer "トヨタ自動車" --city "名古屋"
add --given-name "지민" --family-name "김" --city "서울" --programme "교환 학생"
add --given-name "Lars" --family-name "Åström" --promo 2015 --employer "Spotify" --city "Stockholm"
add --given-name "$(printf '山%.0s' {1..20})" --family-name "Long" --programme "Programme au nom vraiment très très long" \
  --employer "$(printf 'Entreprise%.0s' {1..4})" --city "Vélizy-Villacoublay-sur-Seine-et-Oise"
add --given-name "Spın̈al" --family-name "Tap" --city "Łódź"
expect_eq "table setup" "" "$(cat "$T/table.err" 2>/dev/null)"
expect_status 0 "$AMICALE_BIN" member list
cp "$OUT" "$T/table.txt"
am member list --json
cp "$OUT" "$T/table.json"
cat >"$T/check_table.py" <<'EOF'
import json, sys, unicodedata

def cw(ch):
    if unicodedata.combining(ch): return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
def width(s): return sum(cw(c) for c in s)

table = open(sys.argv[1], encoding="utf-8").read().split("\n")
members = json.load(open(sys.argv[2], encoding="utf-8"))["members"]
titles = ["ID", "NAME", "PROMO", "PROGRAMME", "EMPLOYER", "CITY"]
maxw = [10, 32, 5, 24, 26, 18]
header, rows = table[0], table[1:1 + len(members)]
problems = []
starts = []
for t in titles:
    i = header.find(t)
    if i < 0: problems.append("header lacks " + t); starts.append(0)
    else: starts.append(width(header[:i]))

def name(m):
    s = " ".join(x for x in (m["given_name"], m["family_name"]) if x)
    if m["usual_name"]: s += " (%s)" % m["usual_name"] if s else m["usual_name"]
    return s

def shown(s, w):
    if width(s) <= w: return s
    out, used = "", 0
    for c in s:
        if used + cw(c) > w - 1: break
        out += c; used += cw(c)
    return out + "…"

for r, m in zip(rows, members):
    cells = [str(m["id"]), name(m), str(m["promo"] or ""), m["programme"] or "", m["employer"] or "", m["city"] or ""]
    # character index of each display column of the row
    pos, at = {}, 0
    for i, c in enumerate(r):
        pos.setdefault(at, i); at += cw(c)
    pos.setdefault(at, len(r))
    for k, (cell, start) in enumerate(zip(cells, starts)):
        want = shown(cell, maxw[k])
        if start not in pos:
            problems.append("row %s: no character starts at column %d (%s)" % (m["id"], start, titles[k])); continue
        i = pos[start]
        if not r[i:].startswith(want):
            problems.append("row %s: %s should start at column %d with %r, found %r" % (m["id"], titles[k], start, want, r[i:i + 20]))
        if k and i > 0 and r[i - 1] != " ":
            problems.append("row %s: no space before %s" % (m["id"], titles[k]))
for p in problems: print(p)
if len(rows) != len(members): print("rows %d != members %d" % (len(rows), len(members)))
EOF
expect_eq "table columns start at the header's display columns" "" "$(python3 "$T/check_table.py" "$T/table.txt" "$T/table.json" 2>&1)"
# Every row but the last column pads to the same width: cut the CITY column
# off and all lines have equal display width.
city_at=$(sed -n 1p "$T/table.txt" | sed 's/CITY.*//' | display_widths)
widths=$(sed -n "2,$(( $(jq '.members|length' "$T/table.json") + 1 ))p" "$T/table.txt" |
  python3 -c '
import sys, unicodedata
n = int(sys.argv[1])
for line in sys.stdin.read().rstrip("\n").split("\n"):
    w, out = 0, ""
    for ch in line:
        cw = 0 if unicodedata.combining(ch) else (2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1)
        if w + cw > n: break
        w += cw
    print(w)' "$city_at" | sort -u)
expect_eq "every row reaches the CITY column" "$city_at" "$widths"
expect_match "long name cut with an ellipsis" '山…' "$(cat "$T/table.txt")"
expect_eq "table footer" "7 members" "$(tail -n 1 "$T/table.txt")"

finish
