#!/usr/bin/env bash
# Builds the Debian packages from a built tree and checks them with lintian.
#   scripts/package.sh [BUILD_DIR]        BUILD_DIR: a built tree (default build/default; quickstart.sh builds it)
# Writes BUILD_DIR/packages/: omnisync_<v>_amd64.deb, omnisync-sim_<v>_amd64.deb and their debug symbols
# omnisync-dbgsym_<v>_amd64.ddeb, omnisync-sim-dbgsym_<v>_amd64.ddeb (CPack, packaging/package.cmake), then runs
# lintian on all four. Exits 1 when packaging fails or lintian reports a tag that packaging/lintian.md does not
# explain (every tag there has a heading). Changes nothing outside BUILD_DIR/packages; needs no root.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${1:-$root/build/default}" && pwd)"
out="$build/packages"

[[ -f "$build/CPackConfig.cmake" ]] || { echo "package: $build is not a configured build tree" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"

t0=$(date +%s.%N)
if ! cpack --config "$build/CPackConfig.cmake" -B "$out" >"$out/cpack.log" 2>&1; then
  tail -n 40 "$out/cpack.log" >&2
  echo "package: cpack failed (log: $out/cpack.log)" >&2
  exit 1
fi
rm -rf "$out/_CPack_Packages"
t1=$(date +%s.%N)
shopt -s nullglob
files=("$out"/*.deb "$out"/*.ddeb)
(( ${#files[@]} == 4 )) || { echo "package: expected 4 packages, got: ${files[*]##*/}" >&2; exit 1; }
for f in "${files[@]}"; do
  printf '%-44s %8s KiB\n' "${f##*/}" "$(( $(stat -c %s "$f") / 1024 ))"
done

if ! command -v lintian >/dev/null; then
  echo "package: lintian is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
# --display-info and --pedantic: every tag lintian knows, information ones included; --show-overrides:
# overridden ones too (as O:).
lintian --display-info --pedantic --show-overrides --tag-display-limit 0 "${files[@]}" 2>&1 |
  grep -v '^running with root privileges is not recommended!$' >"$out/lintian.txt" || true
t2=$(date +%s.%N)
explained="$(sed -n 's/^### \([a-z0-9.+-]*\)$/\1/p' "$root/packaging/lintian.md")"
unexplained=0
while read -r severity package tag rest; do
  [[ "$severity" =~ ^[EWIPXCO]:$ ]] || continue
  if ! grep -qx -- "$tag" <<<"$explained"; then
    echo "package: lintian: $severity $package $tag $rest  <- not explained in packaging/lintian.md" >&2
    unexplained=$((unexplained + 1))
  fi
done <"$out/lintian.txt"
echo "lintian (packaging/lintian.md explains each tag):"
if [[ -s "$out/lintian.txt" ]]; then sed 's/^/  /' "$out/lintian.txt"; else echo "  (no tags)"; fi
python3 -c "print(f'package: cpack {$t1 - $t0:.1f} s, lintian {$t2 - $t1:.1f} s')"
(( unexplained == 0 )) || { echo "package: $unexplained lintian tag(s) not explained" >&2; exit 1; }
echo "package: OK ($out)"
