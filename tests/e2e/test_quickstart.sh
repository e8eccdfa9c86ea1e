#!/usr/bin/env bash
# The README walk-through points to cli/quickstart.sh (the single-node tour): it must
# work from a clean state and show what it promises (a node, the imported
# sample, searches, an event and a job received by a second node).
. "$(dirname "$0")/lib.sh"

# Its temporary directory goes under $T (mktemp honours TMPDIR).
export TMPDIR=$T
expect_status 0 sh "$AMICALE_SRC/cli/quickstart.sh" "$AMICALE_BIN"
expect_err_empty

rows=$(($(tr -d '\r' <"$AMICALE_SAMPLES/alumni.csv" | python3 -c 'import csv,sys; print(sum(1 for _ in csv.reader(sys.stdin, delimiter=";")))') - 1))
expect_out_contains "$rows rows: $rows added"
expect_out_contains "Éléonore"
# The partner node accepts everything the school announced, once each.
line=$(grep -E '^[0-9]+ announcements: ' "$OUT" || true)
expect_match "partner import accepts all" '^([0-9]+) announcements: ([0-9]+) accepted, 0 already held, 0 rejected$' "$line"
n=$(sed -E 's/^([0-9]+) announcements: ([0-9]+) accepted.*/\1 \2/' <<<"$line")
expect_eq "every announcement accepted" "${n% *}" "${n#* }"
# What it received: the event and the job, under the school's name.
expect_match "partner lists the event" 'Afterwork des anciens — Lyon +\[École Exemple\]' "$(cat "$OUT")"
expect_match "partner lists the job" 'Ingénieur·e data, Thales — Paris +\[École Exemple\] +alumni only' "$(cat "$OUT")"
# Profiles of consenting members only: count them in the sample.
consenting=$(tr -d '\r' <"$AMICALE_SAMPLES/alumni.csv" | python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin, delimiter=";"))
col = rows[0].index("Consentement fédération")
print(sum(1 for r in rows[1:] if r[col].strip().lower() not in ("", "non", "no", "0")))')
partner=$(sed -n 's/^The nodes are in .* and \(.*\); to keep exploring:$/\1/p' "$OUT")
expect_status 0 "$AMICALE_BIN" --dir "$partner" announcement list --kind profile --json
expect_eq "profiles received = consenting members" "$consenting" "$(jq length "$OUT")"
finish
