#!/usr/bin/env bash
# The federation demo (the README's first command runs it): three nodes on
# this machine, each its own amicaled with its own data directory, talking
# over loopback: two schools and a corporate alumni group. It imports the
# sample spreadsheet into the schools, posts an event and a job offer on two
# different nodes, waits until every node holds the same announcements, then
# shows from one school what the other two published, and stops the nodes.
#
#   bash cli/demo.sh [BUILD_DIR] [--keep]
#
# BUILD_DIR holds `amicale` and `amicaled` (default: build/ of this
# checkout; the path of the amicale binary works too). With --keep the
# daemons keep running at the end and the script says how to stop them.
# AMICALE_DEMO_WAIT (seconds, default 60) bounds every wait.

# Run by sh (dash)? This script needs bash: start again under it.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
set -o pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bindir=$here/build
keep=0
for arg in "$@"; do
  case $arg in
    --keep) keep=1 ;;
    -h|--help)
      sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
      exit 0 ;;
    -*) echo "demo: unknown option '$arg' (usage: bash cli/demo.sh [BUILD_DIR] [--keep])" >&2; exit 2 ;;
    *) bindir=$arg ;;
  esac
done
[ -f "$bindir" ] && bindir=$(dirname "$bindir")
abs=$(cd "$bindir" 2>/dev/null && pwd) || { echo "demo: no such directory: $bindir (give the build directory)" >&2; exit 2; }
bindir=$abs
amicale=$bindir/amicale
amicaled=$bindir/amicaled
for b in "$amicale" "$amicaled"; do
  [ -x "$b" ] || { echo "demo: $b not found: build first (cmake -S . -B build && cmake --build build)" >&2; exit 2; }
done
csv=$here/samples/alumni.csv
[ -r "$csv" ] || { echo "demo: the sample spreadsheet $csv is missing" >&2; exit 2; }
wait_secs=${AMICALE_DEMO_WAIT:-60}

# Every node, in one table: short name (its data directory), name, kind.
nodes=(ecole institut groupe)
declare -A NAME KIND PID ADDR KEY
NAME[ecole]="École Centrale d'Exemple"; KIND[ecole]=school
NAME[institut]="Institut National d'Exemple"; KIND[institut]=school
NAME[groupe]="Groupe Exemple Alumni"; KIND[groupe]=company

# The demo's own output: saved, so that a failure or an interruption is
# reported even while a command's output is being discarded.
exec 7>&1 8>&2

root=$(mktemp -d "${TMPDIR:-/tmp}/amicale-demo-XXXXXX") || { echo "demo: mktemp failed" >&2; exit 1; }
cd "$root" || exit 1

# ---- output -----------------------------------------------------------------

# A paragraph, folded at spaces.
say() { printf '\n%s\n' "$*" | fold -s -w 76 | sed 's/ *$//'; }
heading() { printf '\n== %s\n' "$*"; }

# Prints a command as one would type it (in $root), quoting what needs it.
show_cmd() {
  local s="\$" a
  for a in "$@"; do
    case $a in
      *[\ \'\"\;\&\|\<\>\(\)\$]*|'') s+=" \"$a\"" ;;
      *) s+=" $a" ;;
    esac
  done
  printf '%s\n' "$s"
}

# step ARGS...: shows `amicale ARGS`, runs it (its errors on stdout too,
# in order); a failure ends the demo.
step() {
  printf '\n'
  show_cmd amicale "$@"
  "$amicale" "$@" 2>&1 </dev/null || fail "\`amicale $*\` failed (exit status $?)"
}

# ---- failure and the end ----------------------------------------------------

failed=0
fail() {
  failed=1
  exec 1>&7 2>&8
  {
    printf '\ndemo: FAILED: %s\n' "$*"
    local n
    for n in "${nodes[@]}"; do
      [ -s "$n.log" ] || continue
      printf 'The end of %s (%s):\n' "$root/$n.log" "${NAME[$n]}"
      tail -n 8 "$n.log" | sed 's/^/    | /'
    done
  } >&2
  exit 1
}

# Stops every daemon started (SIGTERM: goodbye to the peers, then exit 0),
# each within the deadline; a daemon that does not stop is killed and the
# demo fails.
stop_all() {
  local n pid end st bad=0
  for n in "${nodes[@]}"; do
    [ -n "${PID[$n]:-}" ] && kill -TERM "${PID[$n]}" 2>/dev/null
  done
  for n in "${nodes[@]}"; do
    pid=${PID[$n]:-}
    [ -n "$pid" ] || continue
    end=$((SECONDS + wait_secs))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      printf '%s (pid %s) did not stop within %s s: killed\n' "${NAME[$n]}" "$pid" "$wait_secs"
      bad=1
    else
      wait "$pid" 2>/dev/null
      st=$?
      if [ "$st" = 0 ]; then
        printf '%s (pid %s): stopped cleanly (exit status 0)\n' "${NAME[$n]}" "$pid"
      else
        printf '%s (pid %s): exited with status %s (see %s)\n' "${NAME[$n]}" "$pid" "$st" "$root/$n.log"
        bad=1
      fi
    fi
    PID[$n]=
  done
  return "$bad"
}

finish() {
  local rc=$?
  trap - EXIT INT TERM
  exec 1>&7 2>&8
  local running=0 n
  for n in "${nodes[@]}"; do [ -n "${PID[$n]:-}" ] && running=1; done
  if [ "$running" = 1 ] && [ "$keep" = 1 ] && [ "$rc" = 0 ] && [ "$failed" = 0 ]; then
    printf '\nThe three nodes keep running (--keep). Everything is in %s:\n' "$root"
    for n in "${nodes[@]}"; do
      printf '  %-9s pid %-7s listening on %-16s log %-13s %s\n' "$n/" "${PID[$n]}" "${ADDR[$n]}" "$n.log" "${NAME[$n]}"
    done
    printf '\nTry for instance:\n'
    printf '  %s --dir %s event list\n' "$amicale" "$root/groupe"
    printf '  %s --dir %s status\n' "$amicale" "$root/institut"
    printf '\nTo see catch-up, stop a school (kill %s), post on another node, and start it\n' "${PID[institut]}"
    printf 'again at its address: it fetches what it missed as soon as it reconnects:\n'
    printf '  %s --dir %s --listen %s >>%s 2>&1 &\n' "$amicaled" "$root/institut" "${ADDR[institut]}" "$root/institut.log"
    printf '\nTo stop them (each says goodbye to its peers and exits):\n'
    printf '  kill %s %s %s\n' "${PID[ecole]}" "${PID[institut]}" "${PID[groupe]}"
    printf 'and to remove everything afterwards:\n  rm -rf %s\n' "$root"
    exit 0
  fi
  if [ "$running" = 1 ]; then
    heading "Stopping the three daemons"
    [ "$rc" = 0 ] && say "SIGTERM to each: it says goodbye to its peers, writes its statistics and exits."
    stop_all || { [ "$rc" = 0 ] && rc=1; }
  fi
  if [ "$rc" = 0 ]; then
    printf '\nDone. The data directories and logs stay in %s\n' "$root"
    printf 'To explore them:\n  %s --dir %s event list\nTo remove them:\n  rm -rf %s\n' \
      "$amicale" "$root/institut" "$root"
  else
    printf '\ndemo: stopped early (exit status %s); the data directories and logs are in %s\n' "$rc" "$root" >&2
  fi
  exit "$rc"
}
trap finish EXIT
trap 'printf "\ndemo: interrupted\n" >&8; exit 130' INT
trap 'printf "\ndemo: terminated\n" >&8; exit 143' TERM

# wait_until WHAT CMD...: polls CMD (every 0.2 s) until it succeeds, at most
# $wait_secs seconds; then fails the demo, saying what did not happen.
wait_until() {
  local what=$1
  shift
  local end=$((SECONDS + wait_secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$end" ] && fail "$what: still not the case after $wait_secs s"
    sleep 0.2
  done
}

am() { "$amicale" "$@" </dev/null; }

# The daemon of node N answers (and is still alive: if it died, say so now).
daemon_up() {
  kill -0 "${PID[$1]}" 2>/dev/null || fail "the daemon of ${NAME[$1]} exited; see $root/$1.log"
  am --dir "$1" status >/dev/null 2>&1
}

# Peers connected / peers known, from `amicale status` ("Peers  2 connected of 2").
peers_connected() {
  local line
  line=$(am --dir "$1" status 2>/dev/null | sed -n 's/^Peers  *\([0-9]*\) connected of \([0-9]*\).*/\1 \2/p')
  [ "$line" = "$2 $2" ]
}

# Every peer of node N is connected and reports "in sync".
all_in_sync() {
  local st
  st=$(am --dir "$1" status 2>/dev/null) || return 1
  grep -q '^  sync ' <<<"$st" || return 1
  ! grep '^  sync ' <<<"$st" | grep -qv '^  sync  *in sync'
}

# The short ids of every announcement node N holds, sorted, one line.
ids_of() { am --dir "$1" announcement list 2>/dev/null | awk '{ print $1 }' | sort | tr '\n' ' '; }

# Every node holds the same announcements, including those the demo posted.
converged() {
  local first n
  first=$(ids_of ecole)
  for n in institut groupe; do [ "$(ids_of "$n")" = "$first" ] || return 1; done
  for n in "${nodes[@]}"; do
    am --dir "$n" event list 2>/dev/null | grep -q 'Afterwork des anciens' || return 1
    am --dir "$n" job list 2>/dev/null | grep -q 'Ingénieur·e data' || return 1
  done
}

# ---- the demo -----------------------------------------------------------------

cat <<EOF
Amicale demo: a small federation on this machine. Three nodes — two schools
and a corporate alumni group — each run their own daemon (amicaled) with
their own data directory, and talk to each other over loopback (127.0.0.1)
only. Everything happens in $root
(the commands below run there; \`amicale\` and \`amicaled\` are in $bindir).
EOF

heading "1. Three nodes, each with its own data directory"
say "A node listens on 127.0.0.1 and a port the system picks (--listen 127.0.0.1:0), so the demo never collides with another program."
for n in "${nodes[@]}"; do
  step --dir "$n" init --name "${NAME[$n]}" --kind "${KIND[$n]}" --listen 127.0.0.1:0
  KEY[$n]=$(am --dir "$n" id | head -n 1)
  [ -n "${KEY[$n]}" ] || fail "cannot read the key of ${NAME[$n]}"
done

heading "2. Start each node's daemon"
for n in "${nodes[@]}"; do
  printf '\n$ amicaled --dir %s >%s.log 2>&1 &\n' "$n" "$n"
  "$amicaled" --dir "$n" >"$n.log" 2>&1 </dev/null 7>&- 8>&- &
  PID[$n]=$!
done
for n in "${nodes[@]}"; do
  wait_until "the daemon of ${NAME[$n]} answers \`amicale status\`" daemon_up "$n"
  ADDR[$n]=$(am --dir "$n" status | sed -n 's/^Listening  *//p')
  [ -n "${ADDR[$n]}" ] || fail "cannot read the address ${NAME[$n]} listens on"
  printf '%s: running (pid %s), listening on %s\n' "${NAME[$n]}" "${PID[$n]}" "${ADDR[$n]}"
done

heading "3. Connect them: École Centrale — Groupe Exemple — Institut National"
cat <<EOF

The corporate group invites each school: an invitation code carries its
address and key, and the school that accepts it becomes its peer; each then
trusts the other's announcements. The two schools are not peers of each
other: what one publishes reaches the other through the group's node, which
relays it. They only need to trust each other's announcements (a node
accepts announcements only from the origins in its trust list).
EOF
step --dir institut trust add "${KEY[ecole]}" --name "${NAME[ecole]}"
step --dir ecole trust add "${KEY[institut]}" --name "${NAME[institut]}"
for n in ecole institut; do
  printf '\n'
  show_cmd amicale --dir groupe invite create --address "${ADDR[groupe]}"
  code=$(am --dir groupe invite create --address "${ADDR[groupe]}" 2>&1) || fail "invite create failed: $code"
  printf '%s\n' "$code"
  step --dir "$n" invite accept "$code"
done
wait_until "${NAME[groupe]} is connected to both schools" peers_connected groupe 2
say "${NAME[groupe]} is connected to both schools."

heading "4. Each school imports its alumni"
cat <<EOF

The sample spreadsheet samples/alumni.csv (French headers, as exported by
Excel) is shared out between the two schools: its odd rows go to École
Centrale, its even rows to Institut National. Its column "Consentement
fédération" holds the date a member agreed to federation sharing: the
profiles of those members (name, graduation year, programme, employer,
city, skills... never e-mail addresses or phone numbers) are signed and
announced to the federation the moment they are imported.
EOF
# Splits records, not lines: a quoted cell may hold a line break.
awk -v odd=ecole.csv -v even=institut.csv '
  NR == 1 { print > odd; print > even; next }
  { if (!open) n++; t = $0; open = (open + gsub(/"/, "", t)) % 2; print > ((n % 2) ? odd : even) }' "$csv" ||
  fail "cannot split $csv"
for n in ecole institut; do
  step --dir "$n" member import "$n.csv"
  profiles=$(am --dir "$n" announcement list --kind profile --origin "${KEY[$n]}" | grep -c .)
  printf '%s announces %s federated profiles (its consenting members).\n' "${NAME[$n]}" "$profiles"
done

heading "5. An event at École Centrale, a job offer at Groupe Exemple"
step --dir ecole event add --title "Afterwork des anciens" --start "2030-01-17 19:00" \
  --timezone Europe/Paris --venue "Le Comptoir" --city Lyon --tag networking
step --dir groupe job add --title "Ingénieur·e data" --employer "Groupe Exemple" --contract cdi \
  --city Paris --apply "recrutement@groupe-exemple.example" --alumni-only yes

heading "6. Wait until the three nodes hold the same announcements"
say "Each node offers what it stores to its peers at once; on every connection, and every 60 s, peers also compare their whole sets (reconciliation) and fetch what they lack. Waiting at most $wait_secs s..."
t0=$(date +%s%N)
wait_until "the three nodes hold the same announcements" converged
wait_until "${NAME[groupe]} is in sync with both schools" all_in_sync groupe
for n in ecole institut; do wait_until "${NAME[$n]} is in sync with its peer" all_in_sync "$n"; done
ms=$((($(date +%s%N) - t0) / 1000000))
total=$(ids_of groupe | wc -w)
if [ "$ms" -lt 1000 ]; then took="$ms ms"; else took="$((ms / 1000)).$((ms % 1000 / 100)) s"; fi
printf 'Converged in %s: all three nodes hold the same %s announcements, and every peer reports "in sync".\n' \
  "$took" "$total"

heading "7. What Institut National sees of the federation"
say "Events and job offers from the whole federation, each with the institution that published it (École Centrale's event came through Groupe Exemple's node):"
step --dir institut event list
step --dir institut job list
say "École Centrale's alumni who consented to federation sharing, found from Institut National by a search across the federation (what École Centrale shares of each, and their institution):"
step --dir institut search --institution "École Centrale" --limit 0
say "Who works in banking, in either school (a search covers this node's members and every institution's; accents and case do not matter):"
step --dir institut search --sector banque
ref=$(am --dir institut announcement list --kind profile --origin "${KEY[ecole]}" | awk '/Éléonore/ { print $1; exit }')
[ -n "$ref" ] || fail "Institut National does not hold Éléonore Dubois's profile"
say "One of them in full: what École Centrale shares of Éléonore Dubois (no e-mail, no phone), signed by École Centrale:"
step --dir institut announcement show "$ref"
say "The group's node, between the two schools: both peers connected and in sync (the \"sync\" lines)."
step --dir groupe status
say "Institut National's peers, with the SYNC column:"
step --dir institut peer list
