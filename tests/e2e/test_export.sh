#!/usr/bin/env bash
# amicale member export: CSV that re-imports without loss, JSON Lines,
# vCard 4.0, --excel, --output, and search filters.
. "$(dirname "$0")/lib.sh"

export AMICALE_NOW=1718000000
A="$T/a"
new_node "$A" "Node A"
export AMICALE_DIR="$A"
expect_status 0 "$AMICALE_BIN" member import "$AMICALE_SAMPLES/alumni.csv"
expect_out_contains "30 added"
# A few members with the awkward values an export must carry.
expect_status 0 "$AMICALE_BIN" member add --usual-name "Madame X" --given-name "=SUM(A1)" \
  --bio $'He said "hi", then; left\r\nSecond line\n\n  indented, with \\ backslash' \
  --skill "C++" --skill "C#" --mentoring-topics "A; B" --dues-lifetime yes --dues-paid-until 31/12/2030 \
  --consent-federation 2020-02-29 --visibility "bio=private,city=federation,mentoring=private,emails=federation" \
  --phone "(0)1 23 45" --website "example.org/path?q=1,2" --email x1@example.fr --email X2@Example.fr --city "Québec"
expect_status 0 "$AMICALE_BIN" member add --family-name "Seul"
expect_status 0 "$AMICALE_BIN" member add --given-name "$(printf 'Tab\tName')" --family-name "日本" \
  --bio "$(printf '日本語%.0s' {1..40})" --job-title "a$(printf 'é%.0s' {1..60})" --employer "Ünïcödé, Inc; \"Ltd\""
# A removed member leaves a gap in the ids.
expect_status 0 "$AMICALE_BIN" member remove 5
run "$AMICALE_BIN" member list --limit 0 --json
jq -c '.members|sort_by(.id)|.[]' "$OUT" >"$T/a.members.jsonl"
NA=$(wc -l <"$T/a.members.jsonl")
expect_eq "node A has 32 members" 32 "$NA"

# ---- CSV round trip ----------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" member export
cp "$OUT" "$T/a.csv"
expect_err_empty
expect_eq "CSV header: id, every field in table order, visibility, created, updated" \
  "id,$(member_fields | paste -sd,),visibility,created,updated" "$(head -n 1 "$T/a.csv")"
expect_match "CSV header starts with the name fields" '^id,given_name,family_name,usual_name,emails,' "$(head -n 1 "$T/a.csv")"
# records (not lines: bios span lines), parsed by Python's csv module
csv_rows() { python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig", newline=""), delimiter=sys.argv[2] if len(sys.argv) > 2 else ","))
w = csv.writer(sys.stdout, lineterminator="\n")
for r in rows: w.writerow(r[:-1])  # all but "updated"
' "$@"; }
expect_eq "CSV: one record per member" $((NA + 1)) "$(csv_rows "$T/a.csv" | python3 -c 'import csv,sys; print(len(list(csv.reader(sys.stdin))))')"

B="$T/b"
new_node "$B" "Node B"
# Imported later: the 'updated' column is the only one that may differ.
expect_status 0 env AMICALE_NOW=1720000000 "$AMICALE_BIN" --dir "$B" member import "$T/a.csv"
expect_out_contains "$NA rows: $NA added, 0 updated, 0 skipped, 0 with errors"
expect_err_empty
expect_status 0 "$AMICALE_BIN" --dir "$B" member export
cp "$OUT" "$T/b.csv"
csv_rows "$T/a.csv" >"$T/a.rows"
csv_rows "$T/b.csv" >"$T/b.rows"
expect_files_equal "CSV export of B = CSV export of A (but 'updated')" "$T/a.rows" "$T/b.rows"
run "$AMICALE_BIN" --dir "$B" member list --limit 0 --json
jq -c '.members|sort_by(.id)|.[]' "$OUT" >"$T/b.members.jsonl"
expect_eq "JSON of every member the same after the round trip (but updated)" \
  "$(jq -c 'del(.updated)' "$T/a.members.jsonl")" "$(jq -c 'del(.updated)' "$T/b.members.jsonl")"
expect_eq "round trip: updated is the import time" '"2024-07-03T09:46:40Z"' "$(jq -c .updated "$T/b.members.jsonl" | sort -u)"
expect_eq "round trip keeps the id gap" 0 "$(jq 'select(.id==5)' "$T/b.members.jsonl" | wc -l)"
run "$AMICALE_BIN" --dir "$B" member add --given-name After --family-name Import --json
expect_eq "B's counter continues after the imported ids" 34 "$(jq .id "$OUT")"
# Searching B works as on A (the index was built by the import).
run "$AMICALE_BIN" --dir "$B" member search --employer "societe generale" --json
expect_eq "search on B after import" '[1,12,20]' "$(jq -c '[.members[].id]|sort' "$OUT")"

# Re-importing A's export into A changes nothing but 'updated'.
expect_status 0 env AMICALE_NOW=1720000000 "$AMICALE_BIN" member import "$T/a.csv"
expect_out_contains "$NA rows: 0 added, $NA updated, 0 skipped, 0 with errors"
run "$AMICALE_BIN" member list --limit 0 --json
expect_eq "re-import of its own export: records unchanged" \
  "$(jq -c 'del(.updated)' "$T/a.members.jsonl")" "$(jq -c '.members|sort_by(.id)|.[]|del(.updated)' "$OUT")"

# ---- --excel ------------------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" member export --excel
cp "$OUT" "$T/excel.csv"
expect_eq "--excel starts with a UTF-8 BOM" "efbbbf" "$(head -c 3 "$T/excel.csv" | od -An -tx1 | tr -d ' \n')"
expect_eq "--excel header uses ';'" "id;given_name;family_name;usual_name" "$(head -n 1 "$T/excel.csv" | tail -c +4 | cut -d';' -f1-4)"
expect_eq "--excel: CRLF line ends" "0d0a" "$(head -n 1 "$T/excel.csv" | tail -c 2 | od -An -tx1 | tr -d ' \n')"
# Records end with CRLF (line breaks inside a quoted bio are data).
expect_eq "--excel: every record ends with CRLF" $((NA + 1)) "$(grep -c $'\r$' "$T/excel.csv")"
# Same values as the plain CSV, except that cells a spreadsheet would run
# as formulas (= + - @) are protected by a leading apostrophe.
expect_eq "--excel: same values as the plain CSV, formula-like cells protected" \
  "$(csv_rows "$T/a.csv" | python3 -c '
import csv, sys
w = csv.writer(sys.stdout, lineterminator="\n")
for r in csv.reader(sys.stdin):
    w.writerow(["\x27" + c if c[:1] in ("=", "+", "-", "@") else c for c in r])')" \
  "$(csv_rows "$T/excel.csv" ';' | python3 -c 'import sys; sys.stdout.write(sys.stdin.read().replace("\r\n", "\n"))')"
expect_true "--excel: the formula-like given name is protected" grep -q "';=SUM(A1)\|;'=SUM(A1)" "$T/excel.csv"
# The protected export re-imports to the same members.
E="$T/e"
new_node "$E" "Node E"
expect_status 0 "$AMICALE_BIN" --dir "$E" member import "$T/excel.csv"
run "$AMICALE_BIN" --dir "$E" member list --limit 0 --json
expect_eq "--excel export re-imports to the same members" \
  "$(jq -c 'del(.updated)' "$T/a.members.jsonl")" \
  "$(jq -c '.members|sort_by(.id)|.[]|del(.updated)' "$OUT")"
C="$T/c"
new_node "$C" "Node C"
expect_status 0 "$AMICALE_BIN" --dir "$C" member import "$T/excel.csv"
expect_out_contains "(UTF-8 (BOM), separator ';'): $NA rows: $NA added"
run "$AMICALE_BIN" --dir "$C" member list --limit 0 --json
expect_eq "--excel export re-imports without loss" \
  "$(jq -c 'del(.updated)' "$T/a.members.jsonl")" "$(jq -c '.members|sort_by(.id)|.[]|del(.updated)' "$OUT")"
expect_status 0 "$AMICALE_BIN" member export --separator tab
expect_eq "--separator tab" "id	given_name" "$(head -n 1 "$OUT" | cut -f1-2)"

# ---- JSON Lines ----------------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" member export --format json
cp "$OUT" "$T/export.jsonl"
expect_eq "JSON Lines: one line per member" "$NA" "$(wc -l <"$T/export.jsonl")"
bad_lines=0
while IFS= read -r line; do
  jq -e 'type=="object"' <<<"$line" >/dev/null 2>&1 || bad_lines=$((bad_lines + 1))
done <"$T/export.jsonl"
expect_eq "JSON Lines: every line is a JSON object" 0 "$bad_lines"
expect_eq "JSON Lines = the members (but updated, changed by the re-import)" \
  "$(jq -c 'del(.updated)' "$T/a.members.jsonl")" "$(jq -c 'del(.updated)' "$T/export.jsonl")"
expect_status 0 "$AMICALE_BIN" member export --json
expect_files_equal "--json is --format json" "$T/export.jsonl" "$OUT"
expect_status 0 "$AMICALE_BIN" member export --format jsonl
expect_files_equal "--format jsonl is --format json" "$T/export.jsonl" "$OUT"

# ---- vCard -----------------------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" member export --format vcard
cp "$OUT" "$T/export.vcf"
expect_eq "vCard: BEGIN per member" "$NA" "$(grep -c $'^BEGIN:VCARD\r$' "$T/export.vcf")"
expect_eq "vCard: END per member" "$NA" "$(grep -c $'^END:VCARD\r$' "$T/export.vcf")"
expect_eq "vCard: VERSION:4.0 per member" "$NA" "$(grep -c $'^VERSION:4.0\r$' "$T/export.vcf")"
expect_eq "vCard: every line ends with CRLF" 0 "$(grep -vc $'\r$' "$T/export.vcf")"
expect_eq "vCard: no bare CR or LF inside lines" 0 "$(tr -d '\n' <"$T/export.vcf" | tr '\r' '\n' | grep -c $'\r')"
key=$("$AMICALE_BIN" id | head -n 1)
cat >"$T/vcard.py" <<'EOF'
import json, sys
raw = open(sys.argv[1], "rb").read()
members = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
key = sys.argv[3]
problems = []
lines = raw.split(b"\r\n")
if lines[-1] == b"": lines.pop()
for i, l in enumerate(lines, 1):
    if len(l) > 75: problems.append("line %d is %d octets (> 75): %s" % (i, len(l), l.decode("utf-8", "replace")[:12]))
    try: l.decode("utf-8")
    except UnicodeDecodeError: problems.append("line %d: a fold split a UTF-8 sequence" % i)
# unfold (RFC 6350 3.2) then split into cards
logical = []
for l in lines:
    if l[:1] in (b" ", b"\t") and logical: logical[-1] += l[1:]
    else: logical.append(l)
logical = [l.decode("utf-8", "replace") for l in logical]
def unescape(v):
    out, i = "", 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v):
            out += "\n" if v[i + 1] in "nN" else v[i + 1]; i += 2
        else: out += v[i]; i += 1
    return out
def split_unescaped(v, sep):
    parts, cur, i = [], "", 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v): cur += v[i:i + 2]; i += 2; continue
        if v[i] == sep: parts.append(cur); cur = ""
        else: cur += v[i]
        i += 1
    parts.append(cur)
    return parts
cards, card = [], None
for l in logical:
    name, _, value = l.partition(":")
    if l == "BEGIN:VCARD": card = []; continue
    if l == "END:VCARD": cards.append(card); card = None; continue
    if card is None: problems.append("content outside a card: %r" % l); continue
    card.append((name.split(";")[0].upper(), name, value))
if len(cards) != len(members): problems.append("%d cards for %d members" % (len(cards), len(members)))
def dn(m):
    s = " ".join(x for x in (m["given_name"], m["family_name"]) if x)
    if m["usual_name"]: s = s + " (%s)" % m["usual_name"] if s else m["usual_name"]
    return s
for m, c in zip(members, cards):
    props = {}
    for n, full, v in c: props.setdefault(n, []).append((full, v))
    who = "member %d" % m["id"]
    def one(n):
        vs = props.get(n, [])
        if len(vs) != 1: problems.append("%s: %d %s properties" % (who, len(vs), n)); return None
        return vs[0][1]
    if one("VERSION") != "4.0": problems.append(who + ": VERSION")
    if one("UID") != "urn:amicale:%s:%d" % (key, m["id"]): problems.append(who + ": UID " + str(props.get("UID")))
    fn = one("FN")
    if fn is not None and unescape(fn) != dn(m): problems.append("%s: FN %r != %r" % (who, unescape(fn), dn(m)))
    emails = [unescape(v) for _, v in props.get("EMAIL", [])]
    if emails != m["emails"]: problems.append("%s: EMAIL %r != %r" % (who, emails, m["emails"]))
    n = one("N")
    if n is not None:
        parts = [unescape(p) for p in split_unescaped(n, ";")]
        want = [m["family_name"] or m["usual_name"] or "", m["given_name"] or "", "", "", ""]
        if parts != want: problems.append("%s: N %r != %r" % (who, parts, want))
    for prop, field in (("ORG", "employer"), ("TITLE", "job_title"), ("NOTE", "bio")):
        got = [unescape(v) for _, v in props.get(prop, [])]
        want = [m[field]] if m[field] else []
        if got != want: problems.append("%s: %s %r != %r" % (who, prop, got, want))
    tel = [unescape(v) for _, v in props.get("TEL", [])]
    if tel != ([m["phone"]] if m["phone"] else []): problems.append("%s: TEL %r" % (who, tel))
    cats = props.get("CATEGORIES", [])
    got = [unescape(x) for x in split_unescaped(cats[0][1], ",")] if cats else []
    if got != m["skills"]: problems.append("%s: CATEGORIES %r != %r" % (who, got, m["skills"]))
    adr = props.get("ADR", [])
    if m["city"] or m["country"]:
        parts = [unescape(p) for p in split_unescaped(adr[0][1], ";")] if adr else []
        if len(parts) != 7 or parts[3] != (m["city"] or "") or parts[6] != (m["country"] or ""):
            problems.append("%s: ADR %r" % (who, parts))
    elif adr: problems.append(who + ": ADR without city or country")
    promo = props.get("X-AMICALE-PROMO", [])
    if [v for _, v in promo] != ([str(m["promo"])] if m["promo"] else []): problems.append(who + ": X-AMICALE-PROMO")
for p in problems: print(p)
EOF
# (A multi-byte character at octet 74-75 once made lines of 76-78 octets.)
expect_eq "vCard: lines at most 75 octets, never splitting a character" "" \
  "$(python3 "$T/vcard.py" "$T/export.vcf" "$T/export.jsonl" "$key" | grep -e 'octets' -e 'UTF-8 sequence' | head -5)"
expect_eq "vCard: FN, N, EMAIL, UID, ORG, TITLE, NOTE, TEL, ADR, CATEGORIES match the members" "" \
  "$(python3 "$T/vcard.py" "$T/export.vcf" "$T/export.jsonl" "$key" | grep -v -e 'octets' -e 'UTF-8 sequence' | head -5)"
# An independent parser: Debian's python3-vobject (the system python3 has
# it when the README's test command installed it).
vpy=""
for py in /usr/bin/python3 python3; do
  if "$py" -c 'import vobject' 2>/dev/null; then vpy=$py; break; fi
done
if [ -n "$vpy" ]; then
  cat >"$T/vobj.py" <<'EOF'
import json, sys, vobject
cards = list(vobject.readComponents(open(sys.argv[1], encoding="utf-8", newline="").read()))
members = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
print(len(cards))
for c, m in zip(cards, members):
    name = " ".join(x for x in (m["given_name"], m["family_name"]) if x)
    if m["usual_name"]:
        name = (name + " (" + m["usual_name"] + ")") if name else m["usual_name"]
    if c.fn.value != name: print("FN", c.fn.value, "!=", name)
    if c.uid.value != "urn:amicale:%s:%d" % (sys.argv[3], m["id"]): print("UID", c.uid.value)
    emails = [e.value for e in c.contents.get("email", [])]
    if emails != m["emails"]: print("EMAIL", emails, m["emails"])
    org = c.contents.get("org")
    got = org[0].value[0] if org else None
    if got != m["employer"]: print("ORG", got, m["employer"])
    note = c.contents.get("note")
    if (note[0].value if note else None) != m["bio"]: print("NOTE", m["id"])
EOF
  expect_eq "vCard parsed by python3-vobject: one card per member, in order" "$NA" \
    "$("$vpy" "$T/vobj.py" "$T/export.vcf" "$T/export.jsonl" "$key" | head -n 1)"
  expect_eq "vCard parsed by python3-vobject: FN, UID, EMAIL, ORG, NOTE match" "" \
    "$("$vpy" "$T/vobj.py" "$T/export.vcf" "$T/export.jsonl" "$key" | tail -n +2 | head -5)"
elif [ -n "${CI:-}" ]; then
  expect_true "python3-vobject is installed in CI (README test command)" false
fi
run "$AMICALE_BIN" member export --format vcard --city paris
expect_eq "vCard with a filter: one card per match" "$(jq -s '[.[]|select(.city=="Paris")]|length' "$T/export.jsonl")" \
  "$(grep -c $'^BEGIN:VCARD\r$' "$OUT")"
grep -a "^FN:" "$OUT" | tr -d '\r' | sort >"$T/fn.got"
jq -r 'select(.city=="Paris")|[.given_name,.family_name]|map(select(.!=null))|join(" ")|"FN:"+.' "$T/export.jsonl" | sort >"$T/fn.want"
expect_files_equal "vCard --city paris: the FN lines" "$T/fn.want" "$T/fn.got"

# ---- --output ------------------------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" member export --output "$T/out.csv"
expect_eq "--output: nothing on stdout" "" "$(cat "$OUT")"
expect_files_equal "--output writes the same CSV" "$T/out.csv" <("$AMICALE_BIN" member export)
expect_true "--output leaves no temporary file" test ! -e "$T/out.csv.tmp"
expect_status 0 "$AMICALE_BIN" member export --format vcard --output "$T/out.vcf"
expect_eq "--output with vCard" "$NA" "$(grep -c '^BEGIN:VCARD' "$T/out.vcf")"
echo "old content" >"$T/keep.csv"
expect_status 2 "$AMICALE_BIN" member export --format xml --output "$T/keep.csv"
expect_eq "a refused export leaves the output file alone" "old content" "$(cat "$T/keep.csv")"
am member export --output "$T/no/such/dir/out.csv"
expect_ne "--output into a missing directory fails" 0 "$RC"
expect_err_contains "$T/no/such/dir"

if [ -w /dev/full ]; then
  expect_status 1 sh -c '"$0" member export >/dev/full' "$AMICALE_BIN"
  expect_err_contains "cannot write the output"
  expect_status 1 sh -c '"$0" member export --format vcard >/dev/full' "$AMICALE_BIN"
  expect_status 1 sh -c '"$0" member show 1 --json >/dev/full' "$AMICALE_BIN"
fi

# ---- filters ---------------------------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" member export --format json --employer "societe generale"
expect_eq "export --employer" '[1,12,20]' "$(jq -s -c '[.[].id]|sort' "$OUT")"
expect_status 0 "$AMICALE_BIN" member export --employer "societe generale"
expect_eq "CSV export --employer: header + 3 records" 4 \
  "$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], newline="")))))' "$OUT")"
expect_status 0 "$AMICALE_BIN" member export --format json --promo 2010-2015 --mentoring
expect_eq "export --promo --mentoring" "$(jq -s -c '[.[]|select(.promo>=2010 and .promo<=2015 and .mentoring)|.id]|sort' "$T/export.jsonl")" \
  "$(jq -s -c '[.[].id]|sort' "$OUT")"
expect_status 0 "$AMICALE_BIN" member export --format json dupont
expect_eq "export with search text" '["Dupont"]' "$(jq -s -c '[.[].family_name]' "$OUT")"
expect_status 0 "$AMICALE_BIN" member export --format json --sort promo --limit 3
expect_eq "export --sort promo --limit 3" '[1998,2001,2003]' "$(jq -s -c '[.[].promo]' "$OUT")"
expect_status 0 "$AMICALE_BIN" member export --format json --city nowhere
expect_eq "export with no match: empty" "" "$(cat "$OUT")"
expect_status 0 "$AMICALE_BIN" member export --city nowhere
expect_eq "CSV export with no match: header only" 1 "$(wc -l <"$OUT")"
expect_status 0 "$AMICALE_BIN" member export --format json
expect_eq "export without --limit has every member" "$NA" "$(wc -l <"$OUT")"
expect_status 2 "$AMICALE_BIN" member export --format xml
expect_err_contains "--format"
expect_status 2 "$AMICALE_BIN" member export --separator ':'

# ---- --output is private, --dir may follow `member` ------------------------------------
expect_status 0 "$AMICALE_BIN" member export --output "$T/private.csv"
expect_eq "--output file is readable by its owner only (it holds private fields)" 600 "$(stat -c %a "$T/private.csv")"
expect_status 0 env -u AMICALE_DIR "$AMICALE_BIN" member --dir "$A" list --limit 0 --json
expect_eq "amicale member --dir D list" "$NA" "$(jq .total "$OUT")"

finish
