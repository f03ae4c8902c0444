#!/usr/bin/env bash
# Runs the whole test suite the way CI does: a Release build of the solution (any warning fails it), then every
# test project, then one summary line "N passed, N failed". Exits non-zero on a build error or a failed test.
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

results="artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

echo "== build (Release, warnings are errors)"
dotnet build Chat.sln -c Release -warnaserror -nologo -v:minimal

echo "== test"
set +e
dotnet test Chat.sln -c Release --no-build --nologo --logger "trx" --logger "console;verbosity=normal" --results-directory "$results"
status=$?
set -e

passed=0
failed=0
files=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
  f=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
  passed=$((passed + p))
  failed=$((failed + f))
done

if [ "$files" -eq 0 ]; then
  echo "no test results were written" >&2
  status=1
fi
if [ "$passed" -eq 0 ]; then
  echo "no test passed" >&2
  status=1
fi

echo "$passed passed, $failed failed"
exit "$status"
