#!/usr/bin/env bash
# skip_unless.sh FILE... -- COMMAND [ARG...]
# Runs COMMAND when every FILE exists; otherwise prints which are absent and
# exits 77, which the tests defined through chorus_add_asset_test report as
# skipped (SKIP_RETURN_CODE 77): a test whose optional asset (a model that
# scripts/setup.sh fetches into .models/, ...) is absent is skipped, not passed.
set -uo pipefail
missing=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  [ -e "$1" ] || missing+=("$1")
  shift
done
if [ $# -eq 0 ]; then echo "skip_unless.sh: no -- COMMAND given" >&2; exit 2; fi
shift
if [ ${#missing[@]} -gt 0 ]; then
  for f in "${missing[@]}"; do echo "SKIPPED: $f is absent (scripts/setup.sh fetches the models into .models/)"; done
  exit 77
fi
exec "$@"
