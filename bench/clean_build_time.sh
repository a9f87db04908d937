#!/usr/bin/env bash
# How long a clean tree takes to build, for two or more commits, measured the same way in one run:
#   bench/clean_build_time.sh [REV ...]     default: the commit before the architecture step (06fe9f1^) and HEAD
# Each commit is checked out into a scratch folder (git worktree, detached), configured with the `default` preset
# and built whole (every target the README's test command builds: daemon, tools, simulators, tests, benchmarks)
# with `-j2` and ccache disabled (CCACHE_DISABLE=1), so every translation unit is compiled. For each it prints the
# wall time, the CPU time (user + system; steadier than wall time on a shared machine), the number of
# translation units and the lines of C++ (.cpp and .hpp, tracked files) the commit holds.
# The headers of libphonenumber come from this tree's .deps (scripts/install-deps.sh unpacks them there).
# Set JOBS to change -j; KEEP=1 keeps the scratch trees. Takes about 15-30 min per commit on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
revs=("$@")
((${#revs[@]})) || revs=(06fe9f1^ HEAD)
jobs="${JOBS:-2}"
scratch="$(mktemp -d /var/tmp/omnisync-build-time.XXXXXX)"
cleanup() {
  for d in "$scratch"/*/; do [[ -d "$d" ]] && git -C "$root" worktree remove --force "$d" 2>/dev/null || true; done
  [[ "${KEEP:-}" == 1 ]] || rm -rf "$scratch"
}
trap cleanup EXIT

printf '%-10s %-12s %8s %8s %6s %9s\n' commit date wall_s cpu_s units cpp_lines
for rev in "${revs[@]}"; do
  sha="$(git -C "$root" rev-parse --short "$rev")"
  tree="$scratch/$sha"
  git -C "$root" worktree add -q --detach "$tree" "$sha"
  lines="$(cd "$tree" && git ls-files -z '*.cpp' '*.hpp' | xargs -0 cat | wc -l)"
  (cd "$tree" && cmake --preset default -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DOMNISYNC_PHONENUMBER_ROOT="$root/.deps/phonenumber" >/dev/null)
  units="$(grep -c '"file"' "$tree/build/default/compile_commands.json")"
  out="$(cd "$tree" && CCACHE_DISABLE=1 /usr/bin/time -f '%e %U %S' cmake --build --preset default -j"$jobs" 2>&1 >/dev/null | tail -1)"
  read -r wall user sys <<<"$out"
  cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }')"
  date="$(git -C "$root" log -1 --format=%cs "$sha")"
  printf '%-10s %-12s %8.0f %8s %6s %9s\n' "$sha" "$date" "$wall" "$cpu" "$units" "$lines"
  git -C "$root" worktree remove --force "$tree"
done
