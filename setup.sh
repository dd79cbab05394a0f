#!/usr/bin/env bash
# setup.sh: one command from a fresh Debian 12 checkout to a running ipcd or
# a full test run. Installs missing Debian packages (as root; otherwise it
# prints the apt-get line and stops), configures with meson, builds.
#
#   ./setup.sh run    build, then run ipcd in the foreground on its default socket
#   ./setup.sh test   build, then run every test: plain build and ASan+UBSan build
#   ./setup.sh build  only install and build
set -euo pipefail
cd "$(dirname "$0")"

# Build and test dependencies, all Debian packages.
PACKAGES=(
	meson ninja-build pkg-config gcc
	libevent-dev libmsgpack-dev libsystemd-dev libcmocka-dev libjansson-dev libinih-dev
	systemd  # systemd-socket-activate and systemd-analyze, for tests/systemd
	python3 python3-msgpack python3-pytest
	python3-venv python3-pip python3-setuptools python3-wheel  # python/: pip install test
	redis-server redis-tools  # tests/bench: ipcd-bench runs Redis beside ipcd
	scdoc man-db  # man/: the man pages are built with scdoc; tests/docs renders them with man -l
	debhelper dh-python python3-all fakeroot dpkg-dev lintian  # tests/packaging: dpkg-buildpackage
	debootstrap systemd-container  # tests/systemd: boots a minimal Debian under systemd-nspawn
)

missing_packages() {
	local p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
	done
}

install_missing() {
	local missing
	missing=$(missing_packages | tr '\n' ' ')
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "ipcd needs these Debian packages; install them, then run this again:" >&2
		echo "  sudo apt-get install -y $missing" >&2
		exit 1
	fi
	echo "setup: installing $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
}

# build DIR [meson options...]
build() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@"
	fi
	meson compile -C "$dir"
}

# run_tests DIR: meson test, then count results from its log.
run_tests() {
	local dir=$1 rc=0
	# One suite at a time: several assert timeouts to within 50 ms, which a
	# 2-core machine running four test suites at once cannot promise.
	meson test -C "$dir" --print-errorlogs --num-processes 1 || rc=$?
	python3 - "$dir/meson-logs/testlog.json" <<'PY' >>"$summary"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print("pass" if r["result"] in ("OK", "EXPECTEDFAIL") else "fail")
PY
	return $rc
}

install_missing
case "${1:-}" in
run)
	build build
	exec build/daemon/ipcd
	;;
test)
	summary=$(mktemp)
	trap 'rm -f "$summary"' EXIT
	rc=0
	build build
	run_tests build || rc=1
	build build-asan -Db_sanitize=address,undefined -Db_lundef=false
	run_tests build-asan || rc=1
	passed=$(grep -c '^pass$' "$summary" || true)
	failed=$(grep -c '^fail$' "$summary" || true)
	echo "plain and ASan+UBSan builds, all suites:"
	echo "tests: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] || rc=1
	exit $rc
	;;
build)
	build build
	;;
*)
	echo "usage: $0 run|test|build" >&2
	exit 2
	;;
esac
