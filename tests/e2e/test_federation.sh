#!/usr/bin/env bash
# A federation of 20 amicaled processes on loopback, peers along a random
# connected topology (a random spanning tree plus a few extra edges), every
# node trusting every other: everything posted anywhere reaches every node
# (docs/PROTOCOL.md section 15), through relays (posted while connected)
# and through reconciliation (posted before the peers were added), and an
# edit, a retraction and a closed job replace or remove the content
# everywhere. Every wait polls a condition with a deadline.
#
# The topology comes from a seed, printed with the edges; to replay one:
#   AMICALE_TEST_SEED=12345 bash tests/e2e/test_federation.sh
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

# Periodic work (reconciliation, keepalives) ten times faster.
export AMICALE_TIMEOUT_SCALE=0.1

N=20
EXTRA=6  # extra edges tried on top of the spanning tree
JOBS=4   # CLI calls run at once during the setup (one per node at most)
SLOW=1   # deadlines: the sanitized build is several times slower
[ -n "${AMICALE_SANITIZED:-}" ] && SLOW=4

cli() { "$AMICALE_BIN" "$@"; }
names=()
for ((i = 0; i < N; i++)); do names+=("$(printf 'n%02d' "$i")"); done

# ---- the topology, from the seed ---------------------------------------------
seed=${AMICALE_TEST_SEED:-$(((RANDOM << 15 | RANDOM) % 2147483648))}
echo "test_federation: seed $seed (replay with AMICALE_TEST_SEED=$seed)"
# Our own generator (an LCG), so a seed gives the same topology with every bash.
_rng=$seed
rnd() { # rnd N: a number in 0..N-1, in $R
  _rng=$(((_rng * 1103515245 + 12345) % 2147483648))
  R=$(((_rng >> 8) % $1))
}
declare -A adj=()     # "i j" (i < j) -> 1
declare -a nbrs=()    # i -> space-separated neighbour indices
add_edge() {
  local a=$1 b=$2
  [ "$a" -gt "$b" ] && { local x=$a; a=$b; b=$x; }
  [ "$a" = "$b" ] || [ -n "${adj["$a $b"]:-}" ] && return 1
  adj["$a $b"]=1
  nbrs[a]+=" $b"
  nbrs[b]+=" $a"
}
order=()
for ((i = 0; i < N; i++)); do order+=("$i"); done
for ((i = N - 1; i > 0; i--)); do
  rnd $((i + 1))
  x=${order[i]}; order[i]=${order[R]}; order[R]=$x
done
# A random spanning tree: each node, in shuffled order, joins one before it.
for ((i = 1; i < N; i++)); do
  rnd "$i"
  add_edge "${order[i]}" "${order[R]}"
done
for ((e = 0; e < EXTRA; e++)); do
  rnd "$N"; a=$R
  rnd "$N"
  add_edge "$a" "$R" || true
done
edges=$(for k in "${!adj[@]}"; do echo "$k"; done | sort -n -k1,1 -k2,2 |
  while read -r a b; do printf '%s-%s ' "${names[a]}" "${names[b]}"; done)
echo "test_federation: ${#adj[@]} edges: $edges"

# ---- setup: in batches, one CLI call per node at a time --------------------
# run_batch FN: runs FN I for every node I, at most $JOBS at once; a failure
# is written to $T/setup-failures.
: >"$T/setup-failures"
run_batch() {
  local fn=$1 i pids=()
  for ((i = 0; i < N; i++)); do
    if [ "${#pids[@]}" -ge "$JOBS" ]; then
      wait "${pids[0]}"
      pids=("${pids[@]:1}")
    fi
    "$fn" "$i" &
    pids+=("$!")
  done
  for i in "${pids[@]}"; do wait "$i"; done
}
setup_fail() { echo "$*" >>"$T/setup-failures"; }
setup_ok() {
  if [ -s "$T/setup-failures" ]; then
    echo "FATAL: setup failed:" >&2
    sed 's/^/    | /' "$T/setup-failures" >&2
    exit 1
  fi
}

init_one() {
  local n=${names[$1]} kind=school
  [ $(($1 % 3)) = 1 ] && kind=company
  [ $(($1 % 3)) = 2 ] && kind=association
  cli init --dir "$T/$n" --name "Node $n" --kind "$kind" >/dev/null || { setup_fail "init $n"; return; }
  cli id --dir "$T/$n" --json | jq -r .key >"$T/$n.key" || setup_fail "id $n"
}
run_batch init_one
setup_ok
keys=()
for ((i = 0; i < N; i++)); do keys+=("$(cat "$T/${names[i]}.key")"); done

# Every node trusts every other (written before the daemons start).
trust_all() {
  local j
  for ((j = 0; j < N; j++)); do
    [ "$j" = "$1" ] && continue
    cli trust add --dir "$T/${names[$1]}" "${keys[j]}" --name "${names[j]}" >/dev/null ||
      setup_fail "trust add ${names[j]} on ${names[$1]}"
  done
}
run_batch trust_all
setup_ok
expect_status 0 cli trust list --dir "$T/n00" --json
expect_eq "n00 trusts the $((N - 1)) others" $((N - 1)) "$(jq length "$OUT")"

# All daemons at once, then each found through `amicale status`.
for n in "${names[@]}"; do
  "$AMICALED_BIN" --dir "$T/$n" --listen 127.0.0.1:0 --log-level debug >>"$T/$n.log" 2>&1 &
  _daemon_pids+=("$!")
  printf -v "PID_$n" '%s' "$!"
done
for n in "${names[@]}"; do
  if ! poll $((20 * SLOW)) _status_ok "$T/$n"; then
    echo "FATAL: amicaled $n did not start; its log:" >&2
    sed 's/^/    | /' "$T/$n.log" >&2
    exit 1
  fi
done
addrs=()
for n in "${names[@]}"; do addrs+=("$(cli status --dir "$T/$n" --json | jq -r .listen)"); done

# ---- posts before the peers exist: only reconciliation can carry them -----
# Nodes 2, 7, 12, 17 post a job, the others an event; a third of them post
# now, the rest once connected.
is_job() { [ $(($1 % 5)) = 2 ]; }
title_of() { if is_job "$1"; then echo "Stage ${names[$1]}"; else echo "Afterwork ${names[$1]}"; fi; }
post_one() {
  local i=$1 n=${names[$1]}
  if is_job "$i"; then
    cli job add --dir "$T/$n" --title "$(title_of "$i")" --employer "Employer $n" --contract internship \
      --apply "jobs@$n.example" --city Nantes >/dev/null || setup_fail "job add on $n"
  else
    cli event add --dir "$T/$n" --title "$(title_of "$i")" --start 2030-12-10T19:00 --city Lyon \
      --venue "Salle $n" >/dev/null || setup_fail "event add on $n"
  fi
}
early() { [ $(($1 % 3)) = 0 ]; }
post_early() { early "$1" && post_one "$1"; return 0; }
post_late() { early "$1" || post_one "$1"; return 0; }
run_batch post_early
setup_ok

# ---- peers along the edges, both sides --------------------------------------
peer_all() {
  local j
  for j in ${nbrs[$1]}; do
    cli peer add --dir "$T/${names[$1]}" "${addrs[j]}" "${keys[j]}" --name "${names[j]}" >/dev/null ||
      setup_fail "peer add ${names[j]} on ${names[$1]}"
  done
}
run_batch peer_all
setup_ok

# Node I is connected to every one of its neighbours.
connected_all() {
  local i=$1 want
  want=$(echo ${nbrs[i]} | wc -w)
  [ "$(cli status --dir "$T/${names[i]}" --json |
    jq '[.peers[] | select(.state == "connected")] | length')" = "$want" ]
}
all_connected() {
  local i
  for ((i = 0; i < N; i++)); do connected_all "$i" || return 1; done
}
wait_for "every node is connected to all its neighbours" $((30 * SLOW)) all_connected

# ---- posts while connected: relays ------------------------------------------
run_batch post_late
setup_ok

titles_of() { cli "$2" list --dir "$T/${names[$1]}" --json | jq -r '.[].body.title' | sort | paste -sd'|'; }
has_title() { cli "$2" list --dir "$T/${names[$1]}" --json | jq -e --arg t "$3" 'any(.[]; .body.title == $t)' >/dev/null; }
everywhere() { # KIND TITLE: every node lists it
  local i
  for ((i = 0; i < N; i++)); do has_title "$i" "$1" "$2" || return 1; done
}
nowhere() {
  local i
  for ((i = 0; i < N; i++)); do has_title "$i" "$1" "$2" && return 1; done
  return 0
}

# Choose (from the seed) an event to edit, an event to retract and a job to close.
pick_event() {
  while :; do rnd "$N"; is_job "$R" || [ "$R" = "${1:-x}" ] || break; done
}
pick_event; edited=$R
pick_event "$edited"; retracted=$R
rnd 4; closed=$((R * 5 + 2))
echo "test_federation: edit ${names[edited]}'s event, retract ${names[retracted]}'s, close ${names[closed]}'s job"

# The edit goes out at once, racing its first version through the network.
expect_status 0 cli event edit --dir "$T/${names[edited]}" 1 --title "Conférence ${names[edited]}"
# The retraction and the closing only once the content has been everywhere.
wait_for "the event to retract reached every node" $((40 * SLOW)) everywhere event "$(title_of "$retracted")"
wait_for "the job to close reached every node" $((40 * SLOW)) everywhere job "$(title_of "$closed")"
expect_status 0 cli event remove --dir "$T/${names[retracted]}" 1 --reason "cancelled for good"
expect_status 0 cli job close --dir "$T/${names[closed]}" 1 --reason "position filled"

# ---- convergence ----------------------------------------------------------------
# What the origins themselves hold is the truth: every node must hold
# exactly the union of it.
own_ids() { cli announcement list --dir "$T/${names[$1]}" --json | jq -r --arg k "${keys[$1]}" '.[] | select(.origin == $k) | .id'; }
for ((i = 0; i < N; i++)); do own_ids "$i"; done | sort >"$T/expected-ids"
expect_eq "each origin holds one announcement per object (node and post)" $((2 * N)) "$(wc -l <"$T/expected-ids")"
ids_of() { cli announcement list --dir "$T/${names[$1]}" --json | jq -r '.[].id' | sort; }
converged() {
  local i
  for ((i = 0; i < N; i++)); do
    ids_of "$i" | cmp -s - "$T/expected-ids" || return 1
  done
}
t0=$SECONDS
if wait_for "every node holds exactly the same announcements" $((60 * SLOW)) converged; then
  echo "test_federation: converged in $((SECONDS - t0)) s after the last post"
else
  for ((i = 0; i < N; i++)); do
    ids_of "$i" | diff "$T/expected-ids" - | sed -n "s/^\([<>]\) /    ${names[i]} \1 /p" | head -5
  done
fi

expected_events=$(for ((i = 0; i < N; i++)); do
  is_job "$i" || [ "$i" = "$retracted" ] && continue
  if [ "$i" = "$edited" ]; then echo "Conférence ${names[i]}"; else title_of "$i"; fi
done | sort | paste -sd'|')
expected_jobs=$(for ((i = 0; i < N; i++)); do
  is_job "$i" && [ "$i" != "$closed" ] && title_of "$i"
done | sort | paste -sd'|')
# Occurrences of TEXT in a node's database, read with LMDB's own mdb_dump.
in_store() { mdb_dump -a -p "$T/$1/store" 2>/dev/null | grep -c -- "$2"; }
for ((i = 0; i < N; i++)); do
  n=${names[i]}
  expect_eq "$n lists every event, the edited one by its new title" "$expected_events" "$(titles_of "$i" event)"
  expect_eq "$n lists every open job" "$expected_jobs" "$(titles_of "$i" job)"
  expect_eq "$n's store has no trace of the retracted event" 0 "$(in_store "$n" "$(title_of "$retracted")")"
  expect_eq "$n's store has no trace of the closed job" 0 "$(in_store "$n" "$(title_of "$closed")")"
  expect_eq "$n's store has no trace of the first version of the edited event" 0 \
    "$(in_store "$n" "$(title_of "$edited")")"
done
expect_status 0 cli announcement list --dir "$T/n00" --kind retraction --json
expect_eq "n00 holds the two retractions" 2 "$(jq length "$OUT")"

# No node refused an announcement, and none logged a warning or an error
# but one: while the peers are being added, a node that dials a neighbour
# before that neighbour has added it back is refused (and dials again).
for n in "${names[@]}"; do
  expect_eq "$n refused no announcement" 0 "$(cli status --dir "$T/$n" --json | jq .counters.announcements_refused)"
  expect_eq "$n's log has no unexpected warning nor error" "" \
    "$(grep -E '^[^ ]+ (warn|error)' "$T/$n.log" | grep -v ': not a peer of this node (add it with' | head -3)"
done

# ---- statuses -------------------------------------------------------------------
for n in "${names[@]}"; do pidvar="PID_$n"; kill -TERM "${!pidvar}" 2>/dev/null; done
for n in "${names[@]}"; do
  pidvar="PID_$n"
  wait "${!pidvar}" 2>/dev/null
  expect_eq "$n stopped cleanly" 0 "$?"
  expect_eq "$n's log has no sanitizer report" "" \
    "$(grep -E 'Sanitizer|runtime error:' "$T/$n.log" | head -3)"
done
finish
