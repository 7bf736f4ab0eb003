#!/usr/bin/env bash
# The test suite on both engines at once: SQLite in the foreground, PostgreSQL (a throwaway cluster
# tests/pg.py starts) in the background with its output shown after. Two processes keep both cores
# busy while the other waits on subprocesses, servers and sleeps. Fails when either run fails.
set -uo pipefail
cd "$(dirname "$0")/.."
export ORDERBOT_TEST_HALVES=1  # a few slow engine-neutral files run in the PostgreSQL half (tests/conftest.py)
log=$(mktemp -t orderbot-pg-tests.XXXXXX)
base=$(mktemp -d -t orderbot-pg-tmp.XXXXXX)  # its own temporary folders, apart from the SQLite run's
ORDERBOT_TEST_ENGINE=postgresql .venv/bin/pytest -q -p no:cacheprovider --basetemp="$base/t" "$@" >"$log" 2>&1 &
pg=$!
trap 'kill "$pg" 2>/dev/null' INT TERM
.venv/bin/pytest -q "$@"
lite=$?
wait "$pg"
pgrc=$?
echo "---------------- PostgreSQL run (ORDERBOT_TEST_ENGINE=postgresql) ----------------"
cat "$log"
rm -rf "$log" "$base"
echo "SQLite run: exit $lite; PostgreSQL run: exit $pgrc"
[ "$lite" -eq 0 ] && [ "$pgrc" -eq 0 ]
