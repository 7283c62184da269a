#!/bin/sh
# Installs the Debian packages doppel needs to build and test, only when
# missing, so `make demo` and `make check` work on a fresh Debian 12 machine.
set -eu

BUILD_PKGS="build-essential meson ninja-build pkg-config
  libseccomp-dev libcmocka-dev libjansson-dev libfyaml-dev libsqlite3-dev
  libsodium-dev libmicrohttpd-dev libgnutls28-dev libcurl4-gnutls-dev libpq-dev"
RUN_PKGS="postgresql postgresql-contrib curl iproute2 util-linux passwd procps python3 sqlite3 git busybox-static"

want="$BUILD_PKGS $RUN_PKGS ${EXTRA_PKGS:-}"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "doppel: missing Debian packages:$missing" >&2
	echo "hint: run 'make deps' as root, or apt-get install them" >&2
	exit 1
fi
echo "doppel: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
