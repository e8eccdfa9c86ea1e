#!/usr/bin/env bash
# amicale init / id: creating a node, the data directory and the ways a node
# can be damaged (key, store, config).
. "$(dirname "$0")/lib.sh"

export AMICALE_NOW=1718000000
N="$T/nodes/école"   # a non-ASCII path, one level that does not exist yet

# ---- init ---------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$N" init --name "École Exemple" --kind school
expect_out_contains 'Created node "École Exemple" (school)'
init_key=$(sed -n 's/^Node key: //p' "$OUT")
expect_match "init prints a 43-character node key" '^[A-Za-z0-9_-]{43}$' "$init_key"

expect_true "init created the directory" test -d "$N"
expect_eq "data directory mode" 700 "$(stat -c %a "$N")"
expect_eq "node.key mode" 600 "$(stat -c %a "$N/node.key")"
expect_true "amicale.conf exists" test -f "$N/amicale.conf"
expect_true "store/data.mdb exists" test -f "$N/store/data.mdb"
expect_eq "amicale.conf name" "École Exemple" "$(sed -n 's/^name = //p' "$N/amicale.conf")"
expect_eq "amicale.conf kind" "school" "$(sed -n 's/^kind = //p' "$N/amicale.conf")"
expect_eq "store format is 5" '\00\00\00\05' "$(mdb_dump -p -s meta "$N/store" | sed -n '/^ format$/{n;s/^ //;p}')"

# ---- id -------------------------------------------------------------------------
expect_status 0 "$AMICALE_BIN" --dir "$N" id
key=$(sed -n 1p "$OUT")
expect_match "id prints a 43-character key" '^[A-Za-z0-9_-]{43}$' "$key"
expect_eq "id key is the key init printed" "$init_key" "$key"
expect_eq "id second line" "École Exemple (school)" "$(sed -n 2p "$OUT")"
expect_eq "id prints two lines" 2 "$(wc -l <"$OUT")"

expect_status 0 "$AMICALE_BIN" id --dir "$N" --json
expect_eq "id --json key" "$key" "$(jq -r .key "$OUT")"
expect_eq "id --json name" "École Exemple" "$(jq -r .name "$OUT")"
expect_eq "id --json kind" "school" "$(jq -r .kind "$OUT")"
expect_eq "id --json dir" "$N" "$(jq -r .dir "$OUT")"
expect_eq "id --json keys" '["dir","key","kind","name"]' "$(jq -c 'keys' "$OUT")"

# ---- init refuses an existing node --------------------------------------------------
cp -p "$N/node.key" "$T/key.before"
cp -p "$N/amicale.conf" "$T/conf.before"
expect_status 5 "$AMICALE_BIN" --dir "$N" init --name "Other" --kind company
expect_err_contains "already holds an Amicale node"
expect_files_equal "node.key unchanged after refused init" "$T/key.before" "$N/node.key"
expect_files_equal "amicale.conf unchanged after refused init" "$T/conf.before" "$N/amicale.conf"
am --dir "$N" id
expect_eq "same key after refused init" "$key" "$(sed -n 1p "$OUT")"

# Only a key left (a half-made node) is refused too, and left alone.
mkdir -p "$T/half"
cp -p "$N/node.key" "$T/half/node.key"
expect_status 5 "$AMICALE_BIN" --dir "$T/half" init --name X --kind school
expect_files_equal "half node: key untouched" "$N/node.key" "$T/half/node.key"

# ---- init usage errors ----------------------------------------------------------------
expect_status 2 "$AMICALE_BIN" --dir "$T/bad1" init --name X --kind castle
expect_err_contains "--kind 'castle'"
expect_true "bad --kind creates nothing" test ! -e "$T/bad1"
expect_status 2 "$AMICALE_BIN" --dir "$T/bad2" init --kind school
expect_err_contains "--name"
expect_true "missing --name creates nothing" test ! -e "$T/bad2"
expect_status 2 "$AMICALE_BIN" --dir "$T/bad3" init --name X
expect_true "missing --kind creates nothing" test ! -e "$T/bad3"
expect_status 2 "$AMICALE_BIN" --dir "$T/bad4" init --name X --kind school --map-size 10K
expect_err_contains "--map-size"
expect_status 2 "$AMICALE_BIN" --dir "$T/bad5" init --name X --kind school extra
expect_status 2 "$AMICALE_BIN" --dir "$T/bad6" init --name $'two\nlines' --kind school
expect_true "bad name creates nothing" test ! -e "$T/bad6/amicale.conf"
# French spelling of a kind is accepted.
expect_status 0 "$AMICALE_BIN" --dir "$T/fr" init --name "Entreprise" --kind entreprise
am --dir "$T/fr" id --json
expect_eq "--kind entreprise is company" company "$(jq -r .kind "$OUT")"

# ---- data directory resolution -------------------------------------------------------
new_node "$T/d_flag" "Flag node"
new_node "$T/d_env" "Env node"
new_node "$T/d_home" "Home node"
expect_status 0 env AMICALE_DIR="$T/d_env" AMICALE_HOME="$T/d_home" "$AMICALE_BIN" --dir "$T/d_flag" id --json
expect_eq "--dir beats AMICALE_DIR and AMICALE_HOME" "Flag node" "$(jq -r .name "$OUT")"
expect_status 0 env AMICALE_DIR="$T/d_env" AMICALE_HOME="$T/d_home" "$AMICALE_BIN" id --dir "$T/d_flag" --json
expect_eq "--dir after the command beats the environment" "Flag node" "$(jq -r .name "$OUT")"
expect_status 0 env AMICALE_DIR="$T/d_env" AMICALE_HOME="$T/d_home" "$AMICALE_BIN" id --json
expect_eq "AMICALE_DIR beats AMICALE_HOME" "Env node" "$(jq -r .name "$OUT")"
expect_status 0 env AMICALE_HOME="$T/d_home" "$AMICALE_BIN" id --json
expect_eq "AMICALE_HOME is used last" "Home node" "$(jq -r .name "$OUT")"
expect_status 0 env AMICALE_DIR= AMICALE_HOME="$T/d_home" "$AMICALE_BIN" id --json
expect_eq "an empty AMICALE_DIR is ignored" "Home node" "$(jq -r .name "$OUT")"
# With nothing set, the XDG / ~/.local/share default (HOME is under $T).
expect_status 0 "$AMICALE_BIN" init --name "Default node" --kind association
expect_true "default directory is ~/.local/share/amicale" test -f "$HOME/.local/share/amicale/amicale.conf"
expect_status 0 env XDG_DATA_HOME="$T/xdg" "$AMICALE_BIN" init --name "XDG node" --kind school
expect_true "XDG_DATA_HOME/amicale is used" test -f "$T/xdg/amicale/amicale.conf"

# --dir before the command, for member subcommands too (both spellings).
am --dir "$T/d_flag" member add --given-name Ada --family-name Lovelace
expect_eq "member add via leading --dir" 0 "$RC"
expect_status 0 env AMICALE_DIR="$T/d_env" "$AMICALE_BIN" --dir "$T/d_flag" member list --json
expect_eq "leading --dir for member list" 1 "$(jq .total "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir="$T/d_flag" member list --json
expect_eq "leading --dir=D for member list" 1 "$(jq .total "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$T/d_env" member list --json
expect_eq "other node has no member" 0 "$(jq .total "$OUT")"
expect_status 0 "$AMICALE_BIN" member list --dir "$T/d_flag" --json
expect_eq "trailing --dir for member list" 1 "$(jq .total "$OUT")"

# ---- not a node ---------------------------------------------------------------------------
mkdir -p "$T/empty"
expect_status 3 "$AMICALE_BIN" --dir "$T/empty" member list
expect_err_contains "amicale init"
expect_status 3 "$AMICALE_BIN" --dir "$T/does-not-exist" id
expect_err_contains "amicale init"
expect_true "id on a missing directory creates nothing" test ! -e "$T/does-not-exist"

# ---- damaged key ----------------------------------------------------------------------------
cp -a "$N" "$T/k1"
# Flip one character of the secret key (second line, after the label).
python3 - "$T/k1/node.key" <<'EOF'
import sys
p = sys.argv[1]
lines = open(p).read().split("\n")
i = next(k for k, l in enumerate(lines) if l.startswith("amicale-secret-key"))
l = lines[i]
pos = l.index(" ") + 11
lines[i] = l[:pos] + ("A" if l[pos] != "A" else "B") + l[pos + 1:]
open(p, "w").write("\n".join(lines))
EOF
expect_ne "key file was modified" "$(cat "$N/node.key")" "$(cat "$T/k1/node.key")"
expect_status 4 "$AMICALE_BIN" --dir "$T/k1" id
expect_err_contains "damaged"
expect_eq "no output for a damaged key" "" "$(cat "$OUT")"

cp -a "$N" "$T/k2"
printf 'not a key at all\n' >"$T/k2/node.key"
expect_status 4 "$AMICALE_BIN" --dir "$T/k2" id
expect_err_contains "not an Amicale key file"

cp -a "$N" "$T/k3"
chmod 644 "$T/k3/node.key"
expect_status 4 "$AMICALE_BIN" --dir "$T/k3" id
expect_err_contains "chmod 600"
# export needs the key too (for vCard UIDs)
expect_status 4 "$AMICALE_BIN" --dir "$T/k3" member export
expect_err_contains "chmod 600"

cp -a "$N" "$T/k4"
rm "$T/k4/node.key"
am --dir "$T/k4" id
expect_ne "missing key file is an error" 0 "$RC"
expect_err_contains "node.key"

# ---- lock file, backup and restore -----------------------------------------------------------
cp -a "$N" "$T/nolock"
rm -f "$T/nolock/store/lock.mdb"
expect_status 0 "$AMICALE_BIN" --dir "$T/nolock" member add --given-name Lock --family-name Less
expect_true "lock.mdb is recreated" test -f "$T/nolock/store/lock.mdb"
# The README's backup: mdb_copy -c of the store, plus amicale.conf and node.key.
mkdir -p "$T/backup/store"
expect_true "mdb_copy -c takes a copy" mdb_copy -c "$T/nolock/store" "$T/backup/store"
cp -p "$T/nolock/amicale.conf" "$T/nolock/node.key" "$T/backup/"
chmod 700 "$T/backup"
expect_status 0 "$AMICALE_BIN" --dir "$T/backup" member list --json
expect_eq "restored backup has the member" '["Less"]' "$(jq -c '[.members[].family_name]' "$OUT")"
expect_status 0 "$AMICALE_BIN" --dir "$T/backup" id
expect_eq "restored backup has the key" "$key" "$(sed -n 1p "$OUT")"

# ---- store from a newer version ------------------------------------------------------------
cp -a "$N" "$T/newer"
mdb_dump -s meta "$T/newer/store" | sed 's/^ 00000005$/ 00000009/' | mdb_load -s meta "$T/newer/store" 2>/dev/null
expect_eq "forged store format" '\00\00\00\09' "$(mdb_dump -p -s meta "$T/newer/store" | sed -n '/^ format$/{n;s/^ //;p}')"
expect_status 4 "$AMICALE_BIN" --dir "$T/newer" member list
expect_err_contains "newer"
expect_status 4 "$AMICALE_BIN" --dir "$T/newer" member add --given-name A --family-name B
expect_err_contains "newer"
expect_eq "newer store not written to" '\00\00\00\09' "$(mdb_dump -p -s meta "$T/newer/store" | sed -n '/^ format$/{n;s/^ //;p}')"

# ---- garbage store ------------------------------------------------------------------------------
cp -a "$N" "$T/garbage"
head -c 16384 /dev/urandom >"$T/garbage/store/data.mdb"
expect_status 4 "$AMICALE_BIN" --dir "$T/garbage" member list
expect_err_contains "not an Amicale store"
cp -a "$N" "$T/text"
printf 'this is not a database\n' >"$T/text/store/data.mdb"
expect_status 4 "$AMICALE_BIN" --dir "$T/text" member add --given-name A --family-name B
expect_err_contains "not an Amicale store"
cp -a "$N" "$T/nostore"
rm -rf "$T/nostore/store"
expect_status 4 "$AMICALE_BIN" --dir "$T/nostore" member list
expect_err_contains "damaged"

# An LMDB file without Amicale's tables.
cp -a "$N" "$T/foreign"
rm -f "$T/foreign/store/"*.mdb
printf 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n hello\n world\nDATA=END\n' |
  mdb_load "$T/foreign/store" 2>/dev/null
expect_status 4 "$AMICALE_BIN" --dir "$T/foreign" member list
expect_err_contains "not an Amicale store"

# ---- config errors --------------------------------------------------------------------------------
cp -a "$N" "$T/c1"
printf '[node]\nname = X\nkind = school\ncolour = blue\n' >"$T/c1/amicale.conf"
expect_status 4 "$AMICALE_BIN" --dir "$T/c1" id
expect_err_contains "line 4"
expect_err_contains "colour"
cp -a "$N" "$T/c2"
printf '[node]\nname = X\nkind = school\n[store]\nmap_size = 64M\nsize_of_map = 1G\n' >"$T/c2/amicale.conf"
expect_status 4 "$AMICALE_BIN" --dir "$T/c2" member list
expect_err_contains "line 6"
expect_err_contains "size_of_map"
cp -a "$N" "$T/c3"
printf '[node]\nname = X\nkind = castle\n' >"$T/c3/amicale.conf"
expect_status 4 "$AMICALE_BIN" --dir "$T/c3" id
expect_err_contains "line 3"
expect_err_contains "castle"
cp -a "$N" "$T/c4"
printf '[node]\nname = X\n' >"$T/c4/amicale.conf"
expect_status 4 "$AMICALE_BIN" --dir "$T/c4" id
expect_err_contains "kind"

# ---- command line ----------------------------------------------------------------------------------
expect_status 2 "$AMICALE_BIN"
expect_status 2 "$AMICALE_BIN" frobnicate
expect_err_contains "frobnicate"
expect_status 2 "$AMICALE_BIN" id --dir "$N" --bogus
expect_err_contains "--bogus"
expect_status 2 "$AMICALE_BIN" id --dir "$N" extra
# An empty --dir (an unset variable in a script) is refused rather than
# falling back to the environment's node.
expect_status 2 env AMICALE_DIR="$T/d_env" "$AMICALE_BIN" --dir "" id
expect_err_contains "--dir"
expect_status 2 env AMICALE_DIR="$T/d_env" "$AMICALE_BIN" id --dir=
expect_status 2 env AMICALE_DIR="$T/d_env" "$AMICALE_BIN" --dir "" init --name X --kind school
expect_eq "empty --dir: the environment's node untouched" "Env node" "$("$AMICALE_BIN" --dir "$T/d_env" id --json | jq -r .name)"
# Output that cannot be written is a failure.
if [ -w /dev/full ]; then
  expect_status 1 sh -c '"$0" --dir "$1" id >/dev/full' "$AMICALE_BIN" "$N"
  expect_err_contains "cannot write the output"
  expect_status 1 sh -c '"$0" --dir "$1" id --json >/dev/full' "$AMICALE_BIN" "$N"
fi
expect_status 0 "$AMICALE_BIN" help
expect_out_contains "Exit status"
expect_status 0 "$AMICALE_BIN" --version
expect_out_contains "amicale "

finish
