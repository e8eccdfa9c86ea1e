#!/usr/bin/env bash
# The README's first command ends by running cli/demo.sh: three amicaled
# daemons on loopback (two schools and a corporate alumni group). It must
# work from a clean state, show from one school what the other two
# published (the event, the job offer, the consenting members' profiles,
# each with its institution), report convergence and peers in sync, stop
# every daemon cleanly, and leave none running; with --keep, the daemons
# keep running and the commands it prints stop them.
. "$(dirname "$0")/lib.sh"

bindir=$(dirname "$AMICALE_BIN")
if [ ! -x "$bindir/amicaled" ]; then
  echo "FATAL: amicaled not found next to $AMICALE_BIN" >&2
  exit 1
fi
# Its temporary directory goes under $T (mktemp honours TMPDIR).
export TMPDIR=$T
# Every wait of the demo has this deadline (the sanitizer build is slower).
if [ -n "${AMICALE_SANITIZED:-}" ]; then export AMICALE_DEMO_WAIT=180; else export AMICALE_DEMO_WAIT=60; fi

# Daemons the demo left running (pid lines), killed if the test ends early;
# only while they run (a pid once gone may be reused by another process).
_demo_pids=()
_demo_cleanup() {
  local rc=$? p
  for p in "${_demo_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  return "$rc"
}
trap '_demo_cleanup; _cleanup' EXIT

daemon_pids() { sed -n 's/^.*: running (pid \([0-9]*\)), listening on .*/\1/p' "$1"; }
# Process $1 has exited (a zombie waiting for its new parent to reap it counts).
gone() {
  ! kill -0 "$1" 2>/dev/null || [ "$(sed -n 's/.*) \(.\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)" = Z ]
}
# Waits (at most $2 s) until process $1 is gone.
wait_gone() {
  local end=$((SECONDS + $2))
  while ! gone "$1"; do
    [ "$SECONDS" -ge "$end" ] && return 1
    sleep 0.1
  done
}
# No process runs in directory $1 (the demo's daemons run there: --dir is
# relative to it).
nothing_runs_in() {
  [ -n "$1" ] || return 1
  [ -z "$(find /proc -mindepth 2 -maxdepth 2 -name cwd \( -lname "$1" -o -lname "$1/*" \) 2>/dev/null)" ]
}
something_runs_in() { ! nothing_runs_in "$1"; }

# What the sample gives each school: odd data rows to École Centrale, even
# rows to Institut National; profiles for the rows with a federation consent.
read -r consenting consenting_odd < <(tr -d '\r' <"$AMICALE_SAMPLES/alumni.csv" | python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin, delimiter=";"))
col = rows[0].index("Consentement fédération")
ok = [r[col].strip().lower() not in ("", "non", "no", "0") for r in rows[1:]]
print(sum(ok), sum(ok[0::2]))')

# ---- the demo, start to end ----------------------------------------------------
start=$SECONDS
expect_status 0 bash "$AMICALE_SRC/cli/demo.sh" "$bindir"
expect_err_empty
cp "$OUT" "$T/demo.out"
echo "demo ran in $((SECONDS - start)) s"

out=$(cat "$T/demo.out")
root=$(sed -n 's/^Done. The data directories and logs stay in //p' "$T/demo.out")
expect_match "the demo ran in its own directory under TMPDIR" "^$T/amicale-demo-" "$root"
pids=$(daemon_pids "$T/demo.out")
for p in $pids; do gone "$p" || _demo_pids+=("$p"); done
expect_eq "three daemons started" 3 "$(wc -w <<<"$pids")"

# The schools imported their halves of the sample.
expect_match "École Centrale imported its rows" 'ecole.csv \(UTF-8 \(BOM\), separator .;.\): 15 rows: 15 added' "$out"
expect_match "Institut National imported its rows" 'institut.csv \(UTF-8 \(BOM\), separator .;.\): 15 rows: 15 added' "$out"
expect_match "École Centrale's profiles" "École Centrale d'Exemple announces $consenting_odd federated profiles" "$out"
expect_match "Institut National's profiles" \
  "Institut National d'Exemple announces $((consenting - consenting_odd)) federated profiles" "$out"

# Converged: 3 node descriptions, the profiles, the event and the job.
expect_match "converged" \
  "Converged in ([0-9]+ ms|[0-9]+\.[0-9] s): all three nodes hold the same $((3 + consenting + 2)) announcements, and every peer reports \"in sync\"" \
  "$out"

# What Institut National sees, between section 7's heading and the shutdown.
seen=$(sed -n '/^== 7\./,/^== Stopping/p' "$T/demo.out")
expect_match "Institut National lists École Centrale's event" \
  "\\\$ amicale --dir institut event list"$'\n'"[0-9a-f]{12} +2030-01-17 19:00 CET +Afterwork des anciens — Lyon +\[École Centrale d'Exemple\]" "$seen"
expect_match "Institut National lists Groupe Exemple's job" \
  "\\\$ amicale --dir institut job list"$'\n'"[0-9a-f]{12} +cdi +Ingénieur·e data, Groupe Exemple — Paris +\[Groupe Exemple Alumni\] +alumni only" "$seen"
search=$(sed -n '/search --institution "École Centrale"/,/people$/p' <<<"$seen")
expect_eq "Institut National finds École Centrale's consenting members" "$consenting_odd" \
  "$(grep -cE " École Centrale d'Exemple$" <<<"$search")"
expect_eq "one of them: Éléonore, with her institution" 1 "$(grep -cE "^Éléonore Dubois +2012 .* École Centrale d'Exemple$" <<<"$search")"
expect_eq "a search across institutions" 1 "$(grep -cE "^Yasmine Benali .* Institut National d'Exemple$" <<<"$seen")"
expect_match "her profile in full, from École Centrale" \
  "origin +[A-Za-z0-9_-]{43} +École Centrale d'Exemple" "$seen"
expect_match "her family name" 'family_name +Dubois' "$seen"
expect_match "her employer" 'employer +Société Générale' "$seen"
expect_match "no e-mail shared" 'emails +nil' "$seen"
expect_match "no phone shared" 'phone +nil' "$seen"
expect_match "signature checked" "verified +yes" "$seen"
expect_eq "no e-mail address anywhere in what Institut National shows of others" 0 \
  "$(grep -c 'eleonore.dubois@' <<<"$seen")"
# Peers in sync: the group's status (two peers), Institut National's peer list.
expect_match "the group is connected to both schools" 'Peers +2 connected of 2' "$seen"
expect_eq "the group reports both peers in sync" 2 "$(grep -cE '^  sync +in sync; last reconciliation' <<<"$seen")"
expect_match "Institut National's peer list: the group, connected, in sync" \
  'Groupe Exemple Alumni +[^ ]+ +127\.0\.0\.1:[0-9]+ +connected +in sync' "$seen"

# Clean shutdown, and nothing left running.
expect_eq "three clean stops" 3 "$(grep -cE '^.* \(pid [0-9]+\): stopped cleanly \(exit status 0\)$' "$T/demo.out")"
for p in $pids; do expect_true "daemon $p is gone" gone "$p"; done
expect_true "no process runs in the demo's directory" nothing_runs_in "$root"
for n in ecole institut groupe; do
  expect_eq "$n's log ends with its stop" "info  stopped" "$(tail -n 1 "$root/$n.log" | cut -c26-)"
done

# ---- --keep, started by sh (the script moves to bash by itself) ------------------
expect_status 0 sh "$AMICALE_SRC/cli/demo.sh" "$AMICALE_BIN" --keep
expect_err_empty
cp "$OUT" "$T/keep.out"
expect_out_contains "The three nodes keep running (--keep)."
expect_out_not_contains "== Stopping"
pids=$(daemon_pids "$T/keep.out")
for p in $pids; do _demo_pids+=("$p"); done
expect_eq "three daemons started (--keep)" 3 "$(wc -w <<<"$pids")"
root=$(sed -n 's/^The three nodes keep running (--keep). Everything is in \(.*\):$/\1/p' "$T/keep.out")
for p in $pids; do expect_true "daemon $p still runs" kill -0 "$p"; done
expect_true "the kept daemons run in the demo's directory" something_runs_in "$root"
expect_status 0 "$AMICALE_BIN" --dir "$root/groupe" status
expect_out_contains "2 connected of 2"
# The stop command it printed: "  kill PID PID PID".
stop=$(grep -A1 '^To stop them' "$T/keep.out" | sed -n 's/^  \(kill [0-9 ]*\)$/\1/p')
expect_eq "the stop command names the three daemons" "kill $(tr '\n' ' ' <<<"$pids" | sed 's/ $//')" "$stop"
# shellcheck disable=SC2086 # (the words of the command)
expect_true "the printed stop command works" $stop
for p in $pids; do expect_true "daemon $p stopped" wait_gone "$p" "$AMICALE_DEMO_WAIT"; done
_demo_pids=()
for p in $pids; do gone "$p" || _demo_pids+=("$p"); done
for n in ecole institut groupe; do
  expect_eq "$n stopped cleanly (--keep)" "info  stopped" "$(tail -n 1 "$root/$n.log" | cut -c26-)"
done
expect_true "no process runs in the kept demo's directory" nothing_runs_in "$root"
finish
