#!/usr/bin/env bash
# No module cycles inside a crate (make lint): cargo-modules draws each crate's module graph,
# its "uses" edges go to tsort, which fails and names the loop when there is one.
# cargo-modules' own --acyclic also counts item-level edges (an enum and its Display impl),
# so the module graph is taken with items filtered out and checked here.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-modules >/dev/null || { echo "module_cycles: cargo-modules not found: cargo install cargo-modules --version 0.27.0 --locked (make lint-tools does)" >&2; exit 1; }
status=0
for target in "-p servebench-core --lib" "-p servebench-engine --lib" "-p servebench --bin servebench"; do
  # shellcheck disable=SC2086
  dot=$(cargo modules dependencies $target --no-externs --no-sysroot --no-fns --no-traits --no-types --layout dot 2>/dev/null) || {
    echo "module_cycles: cargo modules failed on $target" >&2; exit 1; }
  edges=$(printf '%s\n' "$dot" | sed -n 's/^ *"\([^"]*\)" -> "\([^"]*\)" \[label="uses".*/\1 \2/p')
  if ! loops=$(printf '%s\n' "$edges" | tsort 2>&1 >/dev/null) || [ -n "$loops" ]; then
    echo "module cycle in $target:" >&2
    printf '%s\n' "$loops" | sed -n 's/^tsort: //p' >&2
    status=1
  else
    echo "$target: $(printf '%s\n' "$edges" | grep -c . || true) module uses, no cycle"
  fi
done
exit $status
