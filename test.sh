#!/usr/bin/env bash
# Runs the whole test suite the way CI does: a Release build of the solution (any warning fails it), then every
# test project, then one summary line "N passed, N failed". Exits non-zero on a build error or a failed test.
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

results="artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
  else
    shuf -i 20000-40000 -n 1
  fi
}

cleanups=()
cleanup() {
  for c in "${cleanups[@]}"; do eval "$c" || true; done
}
trap cleanup EXIT

# A throwaway PostgreSQL primary and streaming standby, unless CHAT_TEST_POSTGRES names a server already.
if [ -z "${CHAT_TEST_POSTGRES:-}" ]; then
  pg_dir=$(mktemp -d /tmp/chat-test-pg.XXXXXX)
  chmod 755 "$pg_dir"
  cleanups+=("build/pg-test-server.sh stop '$pg_dir/standby'; build/pg-test-server.sh stop '$pg_dir/primary'; rm -rf '$pg_dir'")
  primary_port=$(free_port)
  echo "== PostgreSQL primary on 127.0.0.1:$primary_port and a streaming standby"
  CHAT_TEST_POSTGRES=$(build/pg-test-server.sh start "$pg_dir/primary" "$primary_port")
  CHAT_TEST_POSTGRES_STANDBY=$(build/pg-test-server.sh standby "$pg_dir/standby" "$(free_port)" "$primary_port")
  # The tests drop the databases they make on a server they are given, unless it is deleted whole, as this one is.
  CHAT_TEST_POSTGRES_KEEP_DATABASES=1
  export CHAT_TEST_POSTGRES CHAT_TEST_POSTGRES_STANDBY CHAT_TEST_POSTGRES_KEEP_DATABASES
fi

# What the tests need from Debian when it is missing: redis-server (scale-out tests, unless CHAT_TEST_REDIS names a
# server), Chromium (the browser test, unless CHAT_TEST_CHROMIUM names one) and Node.js with npm (the pages' client
# library and the browser test's driver come from npm).
export CHAT_TEST_CHROMIUM="${CHAT_TEST_CHROMIUM:-/usr/bin/chromium}"
missing=()
if [ -z "${CHAT_TEST_REDIS:-}" ] && ! command -v redis-server >/dev/null 2>&1; then missing+=(redis-server); fi
if [ ! -x "$CHAT_TEST_CHROMIUM" ]; then missing+=(chromium); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    if [ ! -x "$CHAT_TEST_CHROMIUM" ]; then export CHAT_TEST_CHROMIUM=/usr/bin/chromium; fi
  else
    echo "missing: ${missing[*]}; install them (or set CHAT_TEST_REDIS / CHAT_TEST_CHROMIUM)" >&2
    exit 1
  fi
fi

# A throwaway redis-server for the scale-out tests (the SignalR backplane), unless CHAT_TEST_REDIS names one.
if [ -z "${CHAT_TEST_REDIS:-}" ]; then
  redis_port=$(free_port)
  redis_dir=$(mktemp -d /tmp/chat-test-redis.XXXXXX)
  echo "== redis-server on 127.0.0.1:$redis_port"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log" --dir "$redis_dir"
  cleanups+=("kill \$(cat '$redis_dir/redis.pid') 2>/dev/null; rm -rf '$redis_dir'")
  export CHAT_TEST_REDIS="127.0.0.1:$redis_port"
fi

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

if [ "$failed" -gt 0 ]; then
  echo "== failures"
  if command -v python3 >/dev/null 2>&1; then
    python3 build/trx-failures.py "$results"/*.trx || true
  else
    grep -h -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$results"/*.trx | sed -E 's/.*testName="([^"]*)".*/FAILED \1/' || true
  fi
fi
echo "$passed passed, $failed failed"
exit "$status"
