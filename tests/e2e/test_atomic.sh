#!/usr/bin/env bash
# All or nothing: a command that fails leaves the store exactly as it was
# (every sub-database, byte for byte), and a full map grows by itself.
. "$(dirname "$0")/lib.sh"

export AMICALE_NOW=1718000000
export AMICALE_DIR="$T/node"
new_node "$AMICALE_DIR"
expect_status 0 "$AMICALE_BIN" member import "$AMICALE_SAMPLES/alumni.csv"
expect_status 0 "$AMICALE_BIN" member remove 30 # the counter is now ahead of the last id

# snapshot / unchanged WHAT: the node's store is as at the last snapshot.
snapshot() { store_snapshot "$AMICALE_DIR"; }
unchanged() { store_unchanged "$AMICALE_DIR" "$1"; }

# The dump is a faithful picture: it has every table and the members.
snapshot
expect_eq "dump has every table" "ann ann_exp ann_kind ann_seq ann_slot ann_sum dir dir_index dir_ref email index invite lst lst_index lst_ref member_code member_key members meta peer trust" \
  "$(sed -n 's/^database=//p' "$T/snap1.dump" | sort | tr '\n' ' ' | sed 's/ $//')"

# ---- member add -------------------------------------------------------------------------
expect_status 5 "$AMICALE_BIN" member add --given-name Dup --family-name Licate --email ELEONORE.DUBOIS@example.fr
unchanged "add with a taken address"
expect_status 5 "$AMICALE_BIN" member add --given-name Dup --family-name Licate --email fresh@example.fr --email lars.astrom@example.se
unchanged "add with a free and a taken address"
expect_status 3 "$AMICALE_BIN" member show fresh@example.fr
expect_status 4 "$AMICALE_BIN" member add --given-name Bad --family-name Year --promo 3015
unchanged "add with an invalid year"
expect_status 4 "$AMICALE_BIN" member add --email noname@example.fr
unchanged "add without a name"
expect_status 2 "$AMICALE_BIN" member add --given-name A --family-name B --visibility emails=everyone
unchanged "add with a bad --visibility"

# ---- member edit / remove -------------------------------------------------------------------
expect_status 4 "$AMICALE_BIN" member edit 1 --promo 3015 --city Lyon
unchanged "edit with an invalid value (and a valid one)"
expect_status 4 "$AMICALE_BIN" member edit 1 --city Lyon --website "not a url"
unchanged "edit with a valid then an invalid value"
expect_status 5 "$AMICALE_BIN" member edit 1 --email eleonore@new.example --email lars.astrom@example.se
unchanged "edit taking another member's address"
expect_status 0 "$AMICALE_BIN" member show eleonore.dubois@example.fr --json
expect_eq "refused edit: old address still leads to member 1" 1 "$(jq .id "$OUT")"
expect_status 3 "$AMICALE_BIN" member show eleonore@new.example
expect_status 3 "$AMICALE_BIN" member edit 999 --city Lyon
unchanged "edit of an unknown member"
expect_status 3 "$AMICALE_BIN" member remove 999
unchanged "remove of an unknown member"
expect_status 3 "$AMICALE_BIN" member remove 30
unchanged "remove of a removed member"

# ---- import -----------------------------------------------------------------------------------
C="$T/csv"
mkdir -p "$C"
printf 'Nom,Prénom,Email,Promo\nNew,One,new1@example.fr,2001\nDubois,Éléonore,eleonore.dubois@example.fr,1999\nBad,Row,bad-address,2002\nNew,Two,new2@example.fr,2003\n' >"$C/strict.csv"
expect_status 4 "$AMICALE_BIN" member import "$C/strict.csv" --strict
unchanged "import --strict with a bad row (adds and updates refused)"
expect_status 4 "$AMICALE_BIN" member import "$C/strict.csv" --dry-run
unchanged "import --dry-run with a bad row"
printf 'Nom,Prénom,Email,Promo\nNew,One,new1@example.fr,2001\n' >"$C/good.csv"
expect_status 0 "$AMICALE_BIN" member import "$C/good.csv" --dry-run
unchanged "import --dry-run of a good file"
printf 'Nom,Prénom,Email\nDubois,Éléonore,eleonore.dubois@example.fr\nÅström,Lars,lars.astrom@example.se\n' >"$C/dups.csv"
expect_status 4 "$AMICALE_BIN" member import "$C/dups.csv" --on-duplicate error
unchanged "import --on-duplicate error, every row a duplicate"
expect_status 0 "$AMICALE_BIN" member import "$C/dups.csv" --on-duplicate skip
unchanged "import --on-duplicate skip, every row a duplicate"
printf 'Nom,Prénom,Entreprise,Société\nA,B,C,D\n' >"$C/twocols.csv"
expect_status 2 "$AMICALE_BIN" member import "$C/twocols.csv"
unchanged "import with a bad header"
expect_status 3 "$AMICALE_BIN" member import "$C/missing.csv"
unchanged "import of a missing file"
: >"$C/empty.csv"
expect_status 4 "$AMICALE_BIN" member import "$C/empty.csv"
unchanged "import of an empty file"

# ---- other commands that fail ----------------------------------------------------------------------
expect_status 5 "$AMICALE_BIN" init --name Again --kind school
unchanged "init over the node"
expect_status 0 "$AMICALE_BIN" member list
expect_status 0 "$AMICALE_BIN" member search --employer "societe generale"
expect_status 0 "$AMICALE_BIN" member export --format vcard
unchanged "reading commands"

# And a command that succeeds does change it (the check above can fail).
expect_status 4 "$AMICALE_BIN" member import "$C/strict.csv" # the bad row is refused, the rest written
mdb_dump -a "$AMICALE_DIR/store" >"$T/now.dump" 2>&1
expect_true "a successful import changes the dump" test -n "$(diff "$T/snap$STORE_SNAP.dump" "$T/now.dump" | head -1)"
expect_out_contains "4 rows: 2 added, 1 updated, 0 skipped, 1 with errors"

# ---- the map grows by itself -----------------------------------------------------------------------------
G="$T/grow"
expect_status 0 "$AMICALE_BIN" --dir "$G" init --name "Small map" --kind school --map-size 1M
expect_eq "initial map size 1 MiB" 1048576 "$(mdb_stat -e "$G/store" | sed -n 's/^ *Map size: //p')"
awk 'BEGIN {
  print "Nom,Prénom,Email,Promo,Ville,Entreprise,Compétences,Bio"
  for (i = 1; i <= 3000; i++)
    printf "Famille%d,Prénom%d,user%d@example.org,%d,Ville%d,Entreprise %d,Skill%d; Python,\"Bio of member %d: lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor %d\"\n", i, i, i, 1950 + i % 70, i % 50, i % 100, i % 30, i, i
}' >"$C/big.csv"
# One bad row in the middle: reported once, even if its batch runs again
# after the map has grown.
sed -i '1501s/user1500@example\.org/broken-address/' "$C/big.csv"
expect_status 4 "$AMICALE_BIN" --dir "$G" member import "$C/big.csv"
expect_out_contains "3000 rows: 2999 added, 0 updated, 0 skipped, 1 with errors"
expect_err_not_contains "map"
expect_err_not_contains "full"
expect_eq "the bad row reported exactly once" 1 "$(grep -c 'big.csv:1501: column' "$ERR")"
expect_eq "only that row reported" 1 "$(wc -l <"$ERR")"
map=$(mdb_stat -e "$G/store" | sed -n 's/^ *Map size: //p')
expect_true "map grew beyond 1 MiB (now $map)" test "$map" -gt 1048576
expect_eq "all good rows imported" 2999 "$(member_count "$G")"
run "$AMICALE_BIN" --dir "$G" member search famille2999 --json
expect_eq "index built once per member after the retries" '[1,"Prénom2999"]' "$(jq -c '[.total,.members[0].given_name]' "$OUT")"
run "$AMICALE_BIN" --dir "$G" member search --skill python --limit 0 --json
expect_eq "every member in the skill index" 2999 "$(jq .total "$OUT")"
run "$AMICALE_BIN" --dir "$G" member search --city ville7 --limit 0 --json
expect_eq "city index after growth" "$(awk -F, 'NR > 1 && $5 == "Ville7" && $3 ~ /@/' "$C/big.csv" | wc -l)" "$(jq .total "$OUT")"
run "$AMICALE_BIN" --dir "$G" member export --format json
expect_eq "export has every member (beyond a page)" 2999 "$(wc -l <"$OUT")"
expect_eq "export ids are unique" 2999 "$(jq .id "$OUT" | sort -u | wc -l)"
# The node still opens with its configured 1M and keeps working.
expect_status 0 "$AMICALE_BIN" --dir "$G" member add --given-name After --family-name Growth --json
expect_eq "ids go on after a grown import" 3000 "$(jq .id "$OUT")"
expect_status 4 "$AMICALE_BIN" --dir "$G" member import "$C/big.csv" --on-duplicate skip
expect_out_contains "2999 skipped"

# The same with small batches, and with --strict (one transaction).
G2="$T/grow2"
expect_status 0 "$AMICALE_BIN" --dir "$G2" init --name "Small map" --kind school --map-size 1M
expect_status 4 "$AMICALE_BIN" --dir "$G2" member import "$C/big.csv" --batch 100
expect_out_contains "3000 rows: 2999 added"
expect_eq "--batch 100 with growth: bad row reported once" 1 "$(grep -c 'big.csv:1501' "$ERR")"
expect_eq "--batch 100 with growth: all good rows" 2999 "$(member_count "$G2")"
G3="$T/grow3"
expect_status 0 "$AMICALE_BIN" --dir "$G3" init --name "Small map" --kind school --map-size 1M
AMICALE_DIR="$G3" snapshot
expect_status 4 "$AMICALE_BIN" --dir "$G3" member import "$C/big.csv" --strict
expect_out_contains "2999 to add"
expect_eq "--strict with growth: bad row reported once" 1 "$(grep -c 'big.csv:1501' "$ERR")"
AMICALE_DIR="$G3" unchanged "import --strict that grew the map, then failed"
sed -i '1501s/broken-address/user1500@example.org/' "$C/big.csv"
expect_status 0 "$AMICALE_BIN" --dir "$G3" member import "$C/big.csv" --strict
expect_out_contains "3000 rows: 3000 added, 0 updated, 0 skipped, 0 with errors"
expect_err_empty
expect_eq "--strict with growth: all rows" 3000 "$(member_count "$G3")"

# ---- several writers at once ---------------------------------------------------------------------------
P="$T/parallel"
expect_status 0 "$AMICALE_BIN" --dir "$P" init --name "Busy node" --kind school --map-size 1M
for k in 1 2 3 4; do
  awk -v k="$k" 'BEGIN { print "Nom,Prénom,Email,Bio"
    for (i = 1; i <= 500; i++) printf "F%d_%d,P%d,u%d_%d@example.org,Biography text number %d of writer %d\n", k, i, i, k, i, i, k }' >"$C/par$k.csv"
done
pids=() outs=()
for k in 1 2 3 4; do
  "$AMICALE_BIN" --dir "$P" member import "$C/par$k.csv" --batch 50 >"$T/par$k.out" 2>&1 &
  pids+=($!) outs+=("$T/par$k.out")
  "$AMICALE_BIN" --dir "$P" member add --given-name "Solo$k" --family-name Writer >"$T/add$k.out" 2>&1 &
  pids+=($!) outs+=("$T/add$k.out")
  "$AMICALE_BIN" --dir "$P" member list --limit 1 >"$T/list$k.out" 2>&1 &
  pids+=($!) outs+=("$T/list$k.out")
done
failed=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" && continue
  failed=$((failed + 1))
  echo "concurrent writer failed; its output (${outs[$i]##*/}):" >&2
  cat "${outs[$i]}" >&2
done
expect_eq "concurrent imports, adds and lists all succeed" 0 "$failed"
expect_eq "each concurrent import added its 500 rows" 4 "$(grep -l '500 rows: 500 added' "$T"/par?.out | wc -l)"
expect_eq "every concurrent write is in" 2004 "$(member_count "$P")"
run "$AMICALE_BIN" --dir "$P" member export --format json
expect_eq "no id given twice under concurrency" 2004 "$(jq .id "$OUT" | sort -u | wc -l)"
run "$AMICALE_BIN" --dir "$P" member search writer --limit 0 --json
expect_eq "index complete under concurrency" 2004 "$(jq .total "$OUT")"

# Processes that open the store while an import keeps growing its map (from
# 1 MiB, batch after batch) adopt the new size, however often it changes
# between their open and their first transaction.
R="$T/resized"
expect_status 0 "$AMICALE_BIN" --dir "$R" init --name "Growing node" --kind school --map-size 1M
awk 'BEGIN { print "Nom,Prénom,Email,Bio"; for (i = 1; i <= 8000; i++) printf "G%d,P%d,g%d@example.org,Biography text number %d\n", i, i, i, i }' >"$C/grow.csv"
"$AMICALE_BIN" --dir "$R" member import "$C/grow.csv" --batch 20 >"$T/grow.out" 2>&1 &
ipid=$!
readers=0 reader_failures=0
while kill -0 "$ipid" 2>/dev/null; do
  rp=()
  for j in 1 2 3 4; do
    "$AMICALE_BIN" --dir "$R" member list --limit 1 --json >"$T/reader$j.out" 2>&1 &
    rp+=($!)
  done
  for j in 1 2 3 4; do
    readers=$((readers + 1))
    wait "${rp[$((j - 1))]}" && continue
    reader_failures=$((reader_failures + 1))
    sed 's/^/  reader: /' "$T/reader$j.out" >&2
  done
done
expect_status 0 wait "$ipid"
echo "# $readers readers opened the store while the import grew it" >&2
expect_true "readers ran during the import" test "$readers" -gt 0
expect_eq "no reader failed while the map grew" 0 "$reader_failures"
expect_eq "the growing import is complete" 8000 "$(member_count "$R")"

# A crash in the middle of an import (kill -9 once some batches are in)
# leaves whole batches, consistent indexes, and an import that finishes the
# job when run again.
K="$T/killed"
new_node "$K" "Killed"
awk 'BEGIN { print "Nom;Prénom;E-mail;Promo"; for (i = 1; i <= 100000; i++) printf "Nom%d;Prénom;k%d@example.org;%d\n", i, i, 1950 + i % 70 }' >"$C/kill.csv"
"$AMICALE_BIN" --dir "$K" member import "$C/kill.csv" --batch 1000 >"$T/kill.out" 2>&1 &
ipid=$!
# Wait (bounded, polling) until the import has committed something.
seen=0
for _ in $(seq 2000); do
  seen=$("$AMICALE_BIN" --dir "$K" member list --limit 1 --json 2>/dev/null | jq -r '.total // 0')
  [ "$seen" -gt 0 ] && break
  kill -0 "$ipid" 2>/dev/null || break
done
kill -9 "$ipid" 2>/dev/null
wait "$ipid" 2>/dev/null
total=$(member_count "$K")
expect_true "the import had committed some batches before the kill" test "$total" -gt 0
expect_true "the kill came before the end of the import" test "$total" -lt 100000
expect_eq "only whole batches after the kill" 0 $((total % 1000))
run "$AMICALE_BIN" --dir "$K" member search --promo 1900-2100 --limit 0 --json
expect_eq "the year index holds exactly the committed members" "$total" "$(jq .total "$OUT")"
run "$AMICALE_BIN" --dir "$K" member search nom --limit 0 --json
expect_eq "the word index holds exactly the committed members" "$total" "$(jq .total "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$K" member import "$C/kill.csv" --batch 10000
expect_out_contains "100000 rows: $((100000 - total)) added, $total updated"
expect_eq "after the second run every row is in" 100000 "$(member_count "$K")"

finish
