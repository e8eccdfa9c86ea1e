#!/bin/sh
# The single-node tour (the README walk-through points to it): creates a node
# in a temporary directory, imports the sample alumni spreadsheet, runs
# the searches an alumni manager makes every day, posts an event and a job
# offer, and has a second node (a corporate alumni group) receive them and
# the consenting members' profiles by file.
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
amicale=${1:-$here/build/amicale}
AMICALE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/amicale-quickstart-XXXXXX")/node
export AMICALE_DIR

step() {
  printf '\n$ amicale'
  for a in "$@"; do
    case $a in *' '*) printf ' "%s"' "$a" ;; *) printf ' %s' "$a" ;; esac
  done
  printf '\n'
  "$amicale" "$@"
}

step init --name "École Exemple" --kind school
step member import "$here/samples/alumni.csv"
step member list --limit 10
step member search eleonore
step member search --employer "societe generale"
step member search --city paris --mentoring
step member search --promo 2010-2016 --skill python
step member search --city lodz
step member show eleonore.dubois@example.fr

printf '\n# Announcements: signed, for the partner nodes of the federation.\n'
step event add --title "Afterwork des anciens" --start "2030-01-17 19:00" \
  --timezone Europe/Paris --venue "Le Comptoir" --city Lyon --tag networking
step job add --title "Ingénieur·e data" --employer Thales --contract cdi --city Paris \
  --apply "recrutement@thales.example" --alumni-only yes

key=$("$amicale" id | head -n 1)
first=$AMICALE_DIR
AMICALE_DIR=$(dirname "$first")/partner
export AMICALE_DIR
printf '\n# A second node, a corporate alumni group, receives them by file.\n'
step init --name "Groupe Exemple Alumni" --kind company
step trust add "$key" --name "École Exemple"
printf '\n$ amicale --dir %s announcement export --output %s\n' "$first" "$(dirname "$first")/ecole.ann"
AMICALE_DIR=$first "$amicale" announcement export --output "$(dirname "$first")/ecole.ann" 2>&1
step announcement import "$(dirname "$first")/ecole.ann"
step event list
step job list
printf '\nThe nodes are in %s and %s; to keep exploring:\n  export AMICALE_DIR=%s\n' "$first" "$AMICALE_DIR" "$first"
