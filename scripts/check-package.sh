#!/usr/bin/env bash
# Installs the packages on this machine with apt and checks the installed service, then removes them again.
#   scripts/check-package.sh [PACKAGE_DIR]   PACKAGE_DIR: where scripts/package.sh put them (build/default/packages)
#
# What it changes on the machine, while it runs: `apt-get install ./omnisync_*.deb ./omnisync-sim_*.deb` puts
# omnisyncd, omnisyncctl, omnisync-sim, the unit, man pages and completions under /usr and the config under
# /etc/omnisync; the package's postinst creates the system user and group `omnisync` (systemd-sysusers) and
# /var/lib/omnisync, /run/omnisync (systemd-tmpfiles). It neither enables nor starts the service. At the end both
# packages are purged; what stays is the `omnisync` user and group (Debian packages never remove a system user)
# and /var/lib/omnisync if it holds anything (purge keeps a store; an empty folder this script created goes).
#
# It refuses to touch an omnisync it did not install itself: when the package is installed already, or
# /etc/omnisync exists without the package (an install from source, whose config a purge would delete), it skips
# with a notice and exits 0. OMNISYNC_PACKAGE_CHECK=force runs anyway (CI machines are disposable: CI=true does
# the same); OMNISYNC_PACKAGE_CHECK=skip skips. Needs root (or sudo).
#
# Checks: the packages install with apt; `omnisyncd --check-config` accepts the installed config with no -c (the
# daemon's default path is where the config landed), also as the daemon's user; `systemd-analyze verify` and
# `systemd-analyze security --offline=true` on the installed unit (exposure at most 2.0); the unit's binaries
# and Documentation= pages exist; `man omnisyncctl` renders without warnings and lists every command; the bash
# completions load through bash-completion's loader and complete; zsh and fish find theirs; the binaries are
# stripped and their debug symbols are in the -dbgsym packages (by build id); the user, folders and conffiles.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkgdir="$(cd "${1:-$root/build/default/packages}" && pwd)"
marker=/var/lib/omnisync-package-check.installed   # says: the omnisync installed here is this script's

sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  if ! sudo -n true 2>/dev/null; then echo "check-package: needs root (or sudo); skipped" >&2; exit 0; fi
  sudo_cmd=(sudo)
fi
as_root() { "${sudo_cmd[@]}" "$@"; }

mode="${OMNISYNC_PACKAGE_CHECK:-}"
[[ "${CI:-}" == true && -z "$mode" ]] && mode=force
if [[ "$mode" == skip ]]; then echo "check-package: skipped (OMNISYNC_PACKAGE_CHECK=skip)"; exit 0; fi

# Two checks on one machine (two clones' test commands at once) would install, check and purge the same packages
# under each other: they take turns. The lock file is made writable by everyone and opened read-only (flock needs
# no more), so a check by another user can open it too; without it the check runs unlocked, with a notice. apt
# itself also waits for a dpkg lock another apt holds (install-deps.sh of another run) instead of failing at once.
lockdir=/run/lock; [[ -d "$lockdir" && -w "$lockdir" ]] || lockdir="${TMPDIR:-/tmp}"
lockfile="$lockdir/omnisync-check-package.lock"
[[ -e "$lockfile" ]] || (umask 0; : >>"$lockfile") 2>/dev/null
if { exec 9<"$lockfile"; } 2>/dev/null; then
  if ! flock -n 9; then
    echo "check-package: another check of the packages runs on this machine; waiting for it (up to 15 minutes)"
    flock -w 900 9 || { echo "check-package: the other check still runs after 15 minutes; giving up" >&2; exit 1; }
  fi
else
  echo "check-package: cannot open $lockfile; running without waiting for other checks" >&2
fi
apt_wait=(-o DPkg::Lock::Timeout=300)

if [[ "$mode" != force && ! -e "$marker" ]]; then
  if dpkg-query -W -f='${db:Status-Status}' omnisync 2>/dev/null | grep -qx installed; then
    echo "check-package: skipped: an omnisync package is installed here and was not installed by this script;"
    echo "  run scripts/check-clean-env.sh instead, or OMNISYNC_PACKAGE_CHECK=force to replace it (and purge it)."
    exit 0
  fi
  if [[ -e /etc/omnisync ]]; then
    echo "check-package: skipped: /etc/omnisync exists (an install from source?); installing and purging the package"
    echo "  would take over its config. Run scripts/check-clean-env.sh instead, or OMNISYNC_PACKAGE_CHECK=force."
    exit 0
  fi
fi

shopt -s nullglob
main=("$pkgdir"/omnisync_*.deb); sim=("$pkgdir"/omnisync-sim_*.deb); ddebs=("$pkgdir"/*-dbgsym_*.ddeb)
if (( ${#main[@]} != 1 || ${#sim[@]} != 1 || ${#ddebs[@]} != 2 )); then
  echo "check-package: $pkgdir does not hold the four packages (run scripts/package.sh)" >&2
  exit 1
fi
had_state_dir=0; [[ -e /var/lib/omnisync ]] && had_state_dir=1

passed=0; failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
bad() { echo "FAIL - $1${2:+: $2}"; failed=$((failed + 1)); }
check() { local name="$1"; shift; local out; if out="$("$@" 2>&1)"; then ok "$name"; else bad "$name" "$(tail -n 5 <<<"$out")"; fi; }

cleanup() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_wait[@]}" purge -y -qq omnisync-sim omnisync >/dev/null 2>&1
  as_root rm -f "$marker"
  if (( had_state_dir == 0 )); then as_root rmdir /var/lib/omnisync 2>/dev/null; fi
  true
}
trap cleanup EXIT

t0=$(date +%s.%N)
as_root touch "$marker"
# apt reads the files as its sandbox user: a world-readable copy avoids its "unsandboxed" notice.
stage="$(mktemp -d /tmp/omnisync-packages.XXXXXX)"
cp "${main[0]}" "${sim[0]}" "$stage/" && chmod 0755 "$stage" && chmod 0644 "$stage"/*
if out="$(cd "$stage" && as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_wait[@]}" install -y -q --no-install-recommends \
            ./omnisync_*.deb ./omnisync-sim_*.deb 2>&1)"; then
  ok "apt-get install ./omnisync_*.deb ./omnisync-sim_*.deb"
else
  bad "apt-get install" "$(tail -n 15 <<<"$out")"
  rm -rf "$stage"
  echo "check-package: $passed passed, $failed failed"
  exit 1
fi
rm -rf "$stage"
t1=$(date +%s.%N)

version="$(dpkg-query -W -f='${Version}' omnisync)"
check "omnisyncd --version is the package's" bash -c "omnisyncd --version | grep -qx 'omnisyncd ${version%-*}'"
check "omnisyncd --check-config (default path: /etc/omnisync/omnisync.yaml)" omnisyncd --check-config
check "omnisyncd --check-config as user omnisync" as_root runuser -u omnisync -- omnisyncd --check-config
check "user and group omnisync (sysusers)" bash -c 'getent passwd omnisync && getent group omnisync'
check "/var/lib/omnisync owned by omnisync, 0750 (tmpfiles)" \
  bash -c '[[ "$(stat -c "%U:%G %a" /var/lib/omnisync)" == "omnisync:omnisync 750" ]]'
check "the config and every mapping are conffiles" bash -c '
  c="$(dpkg-query -W -f="\${Conffiles}\n" omnisync)"
  grep -q " /etc/omnisync/omnisync.yaml " <<<"$c" &&
  [[ "$(grep -c " /etc/omnisync/mappings/.*\.yaml " <<<"$c")" == "$(find /etc/omnisync/mappings -name "*.yaml" | wc -l)" ]]'

unit=/usr/lib/systemd/system/omnisync.service
check "systemd-analyze verify $unit" bash -c "out=\"\$(systemd-analyze verify --recursive-errors=no $unit 2>&1)\"; echo \"\$out\"; [[ -z \"\$out\" ]]"
score="$(systemd-analyze security --offline=true "$unit" 2>&1 | sed -n 's/.*Overall exposure level for omnisync.service: \([0-9.]*\).*/\1/p')"
check "systemd-analyze security --offline=true: exposure ${score:-?} (at most 2.0)" \
  python3 -c "import sys; sys.exit(0 if '$score' and float('$score') <= 2.0 else 1)"
check "the unit's ExecStart/ExecReload binaries and -c file exist" bash -c "
  grep -q '^ExecStart=/usr/bin/omnisyncd -c /etc/omnisync/omnisync.yaml$' $unit &&
  grep -q '^ExecReload=/usr/bin/omnisyncctl ' $unit && [[ -x /usr/bin/omnisyncd && -x /usr/bin/omnisyncctl ]]"
check "Documentation= names installed man pages" bash -c "
  for m in \$(sed -n 's/^Documentation=//p' $unit); do
    [[ \$m =~ ^man:([^\(]+)\(([0-9])\)\$ ]] || exit 1
    man -w \"\${BASH_REMATCH[2]}\" \"\${BASH_REMATCH[1]}\" >/dev/null || exit 1
  done"

manout="$(MANWIDTH=80 man --warnings omnisyncctl 2>/tmp/omnisyncctl-man.err)"
manerr="$(cat /tmp/omnisyncctl-man.err; rm -f /tmp/omnisyncctl-man.err)"
if [[ -n "$manout" && -z "$manerr" ]]; then ok "man omnisyncctl renders (no groff warnings)"; else bad "man omnisyncctl renders" "$manerr"; fi
missing=""
for c in $(omnisyncctl --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && NF { print $1 }'); do
  grep -q "^   $c\$" <<<"$manout" || missing+=" $c"
done
if [[ -z "$missing" ]]; then ok "man omnisyncctl lists every command of omnisyncctl --help"; else bad "man omnisyncctl lists every command" "missing:$missing"; fi
for page in omnisyncd.8 omnisync.yaml.5 omnisync-mapping.5 omnisync-sim.1 omnisync-demo.1; do
  check "man ${page%.*}(${page##*.}) renders" bash -c "[[ -n \"\$(MANWIDTH=80 man --warnings ${page##*.} ${page%.*} 2>&1 >/dev/null)\" ]] && exit 1; man -w ${page##*.} ${page%.*}"
done

check "bash completion loads through bash-completion and completes" bash -c '
  source /usr/share/bash-completion/bash_completion
  _completion_loader omnisyncctl; complete -p omnisyncctl | grep -q _omnisyncctl
  COMP_WORDS=(omnisyncctl dl); COMP_CWORD=1; _omnisyncctl; [[ "${COMPREPLY[*]}" == dlq ]]
  COMP_WORDS=(omnisyncctl profile ""); COMP_CWORD=2; _omnisyncctl; [[ "${COMPREPLY[*]}" == "get explain split restore resync list search" ]]
  _completion_loader omnisyncd; COMP_WORDS=(omnisyncd --check); COMP_CWORD=1; _omnisyncd; [[ "${COMPREPLY[*]}" == --check-config ]]'
if command -v zsh >/dev/null; then
  check "zsh finds _omnisyncctl in its fpath" zsh -fc 'for d in $fpath; do [[ -r $d/_omnisyncctl ]] && zsh -n $d/_omnisyncctl && exit 0; done; exit 1'
fi
if command -v fish >/dev/null; then
  check "fish completes omnisyncctl from vendor_completions.d" bash -c "fish -c 'complete -C \"omnisyncctl dl\"' | grep -q '^dlq'"
fi

check "omnisyncd, omnisyncctl, omnisync-sim are stripped" bash -c '
  for b in /usr/bin/omnisyncd /usr/bin/omnisyncctl /usr/bin/omnisync-sim; do
    readelf -S "$b" | grep -q "\.debug_info" && exit 1; readelf -S "$b" | grep -q "\.symtab" && exit 1
  done; true'
ids_ok=1
# The listings are read whole first: `dpkg-deb -c | grep -q` would fail under pipefail when grep stops early.
listing=""
for d in "${ddebs[@]}"; do listing+="$(dpkg-deb -c "$d")"$'\n'; done
for b in /usr/bin/omnisyncd /usr/bin/omnisyncctl /usr/bin/omnisync-sim; do
  id="$(readelf -n "$b" | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p')"
  [[ -n "$id" ]] && grep -qF "usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" <<<"$listing" || ids_ok=0
done
if (( ids_ok )); then ok "every binary's debug symbols are in a -dbgsym package (by build id)"; else bad "debug symbols by build id"; fi
check "omnisync-demo and omnisync-sim --help run from the installed files" bash -c 'omnisync-sim --help >/dev/null && [[ -x /usr/share/omnisync-sim/demo.sh ]] && grep -q "^OMNISYNC_MAPPINGS_DIR=/etc/omnisync/mappings$" /usr/bin/omnisync-demo'

cleanup
trap - EXIT
check "purged: no omnisync files left in /usr and /etc" bash -c '! dpkg-query -W omnisync >/dev/null 2>&1 || [[ "$(dpkg-query -W -f="\${db:Status-Status}" omnisync)" == not-installed ]]; [[ ! -e /usr/bin/omnisyncd && ! -e /etc/omnisync ]]'
t2=$(date +%s.%N)
python3 -c "print(f'check-package: install {$t1 - $t0:.1f} s, checks and purge {$t2 - $t1:.1f} s')"
echo "check-package: $passed passed, $failed failed"
(( failed == 0 ))
