#!/bin/sh
# The five-minute tour (the README's first command runs it): creates a node
# in a temporary directory, imports the sample alumni spreadsheet, and runs
# the searches an alumni manager makes every day.
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
amicale=${1:-$here/build/amicale}
AMICALE_DIR=$(mktemp -d /tmp/amicale-quickstart-XXXXXX)/node
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
printf '\nThe node is in %s; to keep exploring:\n  export AMICALE_DIR=%s\n' "$AMICALE_DIR" "$AMICALE_DIR"
