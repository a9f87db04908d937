#!/usr/bin/env bash
# Installs every Debian 12 package omnisync needs to build, test, benchmark, package and run its demo.
# Packaging: pandoc renders the man pages, lintian and dpkg-dev (dpkg-shlibdeps) check and build the .deb files,
# man-db, bash-completion, zsh and fish check the installed pages and completions, debootstrap builds the clean
# Debian 12 chroot of scripts/check-clean-env.sh.
# Idempotent and quiet when everything is already present. Run as root (or via sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-all-dev libboost-url1.81-dev libboost-json1.81-dev
  libssl-dev libsimdjson-dev libspdlog-dev catch2 libsqlite3-dev sqlite3 libyaml-cpp-dev
  libsystemd-dev systemd libpugixml-dev libcli11-dev libhowardhinnant-date-dev
  libphonenumber8 libprotobuf-dev libabsl-dev
  clang-14 libclang-rt-14-dev
  jq nginx-light wrk prometheus python3 time
  libpq-dev postgresql
  openssl curl ca-certificates util-linux procps
  pandoc man-db lintian dpkg-dev debootstrap bash-completion zsh fish
  chromium
)
# chromium: the web console's browser tests (tests/console/, driven by playwright-core from npm, locked there).

# Node.js and npm (for the vendor client conformance tests and the JSONata benchmark): Debian's packages
# only where the machine has no Node.js of its own, since they conflict with other builds of it.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
    missing+=("$p")
  fi
done

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libphonenumber-dev cannot be installed beside Boost 1.81 (it depends on Boost 1.74's thread package):
# unpack its headers into a project-local folder and link the runtime library from libphonenumber8.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pn_root="${OMNISYNC_PHONENUMBER_ROOT:-$here/.deps/phonenumber}"
if [ ! -f "$pn_root/usr/include/phonenumbers/phonenumberutil.h" ]; then
  echo "install-deps: unpacking libphonenumber-dev headers into $pn_root" >&2
  tmp="$(mktemp -d)"
  ( cd "$tmp" && apt-get download -qq libphonenumber-dev >/dev/null 2>&1 ) || {
    "${sudo_cmd[@]}" apt-get update -qq; ( cd "$tmp" && apt-get download -qq libphonenumber-dev >/dev/null ); }
  mkdir -p "$pn_root"
  dpkg -x "$tmp"/libphonenumber-dev_*.deb "$pn_root"
  rm -rf "$tmp"
fi
