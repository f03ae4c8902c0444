#!/usr/bin/env bash
# Rewrites PublicAPI.Unshipped.txt of each shipped project (or the ones named) from what the
# PublicApiAnalyzers report as undeclared (RS0016). Review the diff: it is the public API change.
set -euo pipefail
cd "$(dirname "$0")/.."
projects=("$@")
[ ${#projects[@]} -gt 0 ] || mapfile -t projects < <(ls src/*/*.csproj)
for proj in "${projects[@]}"; do
  dir=$(dirname "$proj")
  printf '#nullable enable\n' > "$dir/PublicAPI.Unshipped.txt"
  log=$(mktemp)
  dotnet build "$proj" -p:TreatWarningsAsErrors=false -p:WarningsAsErrors= --no-incremental -v:q -nologo >"$log" 2>&1 || true
  grep -o "RS0016: Symbol '.*' is not part of the declared public API" "$log" \
    | sed -E "s/^RS0016: Symbol '(.*)' is not part of the declared public API$/\1/" \
    | sort -u >> "$dir/PublicAPI.Unshipped.txt" || true
  rm -f "$log"
  echo "$dir: $(($(wc -l < "$dir/PublicAPI.Unshipped.txt") - 1)) unshipped symbols"
done
