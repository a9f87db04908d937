#!/usr/bin/env bash
# Shows that the installed packages run with runtime packages only: no -dev package, no build tree, no compiler.
#   scripts/check-clean-env.sh [PACKAGE_DIR]   PACKAGE_DIR: where scripts/package.sh put them (build/default/packages)
# Builds a minimal Debian 12 system with debootstrap (variant minbase) from the Debian mirror this machine's apt
# uses, installs omnisync_*.deb and omnisync-sim_*.deb there with apt (which fetches their runtime dependencies from
# the mirror), then, inside that chroot: no -dev package and no compiler is installed, the build tree is not
# there, no library is missing (ldd), `omnisyncd --version`, `omnisyncd --check-config` on the installed config
# (as root and as the daemon's user), and `omnisync-demo` (the simulators, omnisyncd and omnisyncctl from the
# installed files: initial sync, a webhook from HubSpot reaching Zendesk, clean stop).
#
# Needs root, debootstrap and the mirror; takes a few minutes (most of it debootstrap and apt downloading), so it
# is not part of the test command: scripts/check-package.sh is its fast counterpart on this machine.
# What it changes: a scratch folder (default /var/tmp/omnisync-clean-env.XXXXXX, removed at the end unless
# OMNISYNC_KEEP_CHROOT=1), and mounts of /proc and /dev inside it, made in a private mount namespace (unshare -m),
# so they vanish with it. Nothing else on the machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkgdir="$(cd "${1:-$root/build/default/packages}" && pwd)"
suite=bookworm

[[ "$(id -u)" -eq 0 ]] || { echo "check-clean-env: needs root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "check-clean-env: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
shopt -s nullglob
main=("$pkgdir"/omnisync_*.deb); sim=("$pkgdir"/omnisync-sim_*.deb)
(( ${#main[@]} == 1 && ${#sim[@]} == 1 )) || { echo "check-clean-env: no packages in $pkgdir (run scripts/package.sh)" >&2; exit 1; }

# The mirrors this machine's apt uses for bookworm (and its -updates and -security suites), as apt reports them.
mirror_of() { apt-cache policy | awk -v s="$1/main" '$3 == s && $4 == "amd64" { print $2; exit }'; }
mirror="$(mirror_of "$suite")"
[[ -n "$mirror" ]] || { echo "check-clean-env: apt has no $suite/main source (apt-get update?)" >&2; exit 1; }
updates="$(mirror_of "$suite-updates")"
security="$(mirror_of "$suite-security")"

dir="$(mktemp -d /var/tmp/omnisync-clean-env.XXXXXX)"
chmod 0755 "$dir"   # the chroot's /: the daemon's user and apt's sandbox user must traverse it
cleanup() {
  if grep -q " $dir" /proc/self/mounts; then
    echo "check-clean-env: $dir still has mounts; not removing it" >&2
  elif [[ "${OMNISYNC_KEEP_CHROOT:-}" == 1 ]]; then
    echo "check-clean-env: kept $dir"
  else
    rm -rf "$dir"
  fi
}
trap cleanup EXIT
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f} s')" "$1" "$(date +%s.%N)"; }

start=$(date +%s.%N)
echo "==> debootstrap --variant=minbase $suite (from $mirror) into $dir"
debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"$dir.debootstrap.log" 2>&1 || {
  tail -n 30 "$dir.debootstrap.log" >&2; rm -f "$dir.debootstrap.log"; exit 1; }
rm -f "$dir.debootstrap.log"
echo "    $(elapsed "$start")"

{
  echo "deb $mirror $suite main"
  [[ -n "$updates" ]] && echo "deb $updates $suite-updates main"
  [[ -n "$security" ]] && echo "deb $security $suite-security main"
} >"$dir/etc/apt/sources.list"
# Like this machine's apt: mirrors may serve snapshots whose Release files are past their Valid-Until date.
printf 'Acquire::Check-Valid-Until "false";\nAcquire::Languages "none";\n' >"$dir/etc/apt/apt.conf.d/90omnisync-check"
cp /etc/resolv.conf "$dir/etc/resolv.conf"
mkdir -p "$dir/tmp/packages"
cp "${main[0]}" "${sim[0]}" "$dir/tmp/packages/"
chmod -R a+rX "$dir/tmp/packages"

# Everything below runs inside the chroot, in a private mount namespace.
cat >"$dir/tmp/inside.sh" <<'INSIDE'
#!/bin/bash
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f} s')" "$1" "$(date +%s.%N)"; }
t=$(date +%s.%N)
echo "==> apt-get install ./omnisync_*.deb ./omnisync-sim_*.deb (runtime dependencies from the mirror)"
apt-get update -qq
cd /tmp/packages
apt-get install -y -qq --no-install-recommends ./omnisync_*.deb ./omnisync-sim_*.deb >/tmp/apt.log 2>&1 || {
  tail -n 30 /tmp/apt.log; exit 1; }
echo "    $(elapsed "$t"); $(dpkg-query -W -f '${Package}\n' | wc -l) packages installed in all"
echo "==> runtime only"
dev="$(dpkg-query -W -f '${Package}\n' | grep -E -- '-dev$|^(gcc|g\+\+|clang|cmake|cpp)(-[0-9]+)?$' || true)"
[[ -z "$dev" ]] || { echo "FAIL: development packages installed: $dev"; exit 1; }
echo "    no -dev package, no compiler: ok"
[[ ! -e "$BUILD_TREE" ]] || { echo "FAIL: the build tree $BUILD_TREE is visible"; exit 1; }
echo "    the build tree ($BUILD_TREE) is not here: ok"
for b in /usr/bin/omnisyncd /usr/bin/omnisyncctl /usr/bin/omnisync-sim; do
  if ldd "$b" | grep -q "not found"; then ldd "$b" | grep "not found"; echo "FAIL: $b misses libraries"; exit 1; fi
done
echo "    every library the binaries need is installed (ldd): ok"
echo "==> omnisyncd --version"
omnisyncd --version
echo "==> omnisyncd --check-config (the installed /etc/omnisync/omnisync.yaml)"
omnisyncd --check-config
runuser -u omnisync -- omnisyncd --check-config >/dev/null
echo "    also as user omnisync: ok"
t=$(date +%s.%N)
echo "==> omnisync-demo (from the installed files)"
omnisync-demo >/tmp/demo.log 2>&1 || { tail -n 40 /tmp/demo.log; echo "FAIL: omnisync-demo"; exit 1; }
sed -n '/==> summary/,$p' /tmp/demo.log
echo "    $(elapsed "$t")"
INSIDE
chmod 0755 "$dir/tmp/inside.sh"

unshare --mount --propagation private bash -c '
  set -e
  mount -t proc proc "$1/proc"
  mount --rbind /dev "$1/dev"
  BUILD_TREE="$2" chroot "$1" /tmp/inside.sh
' check-clean-env "$dir" "$root"

echo "check-clean-env: OK in $(elapsed "$start") (Debian 12 minbase + the packages' runtime dependencies)"
