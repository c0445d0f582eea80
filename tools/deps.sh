#!/bin/sh
# deps.sh - install the Debian packages the build, the tests and `make run` need (the one install step).
# Checks with dpkg first, so on a machine that has everything it does nothing and needs no network.
# Runs apt-get as root, or through sudo when not root.
set -eu

# One package a line; keep this list the single place a new dependency is named.
PACKAGES="
gcc
make
pkg-config
git
ca-certificates
librdkafka-dev
libcurl4-openssl-dev
libcjson-dev
libyaml-dev
libmicrohttpd-dev
libssl-dev
libcmocka-dev
openssl
kcat
python3
python3-kafka
python3-jsonschema
python3-kubernetes
jq
curl
procps
psmisc
tmux
valgrind
clang
libclang-rt-14-dev
chromium
chromium-driver
python3-websocket
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "deps: missing packages:$missing; run as root or install sudo" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
