#!/usr/bin/env bash
# The full test suite, as the README gives it and .ci/run runs it: every
# package with the race detector, then the browser tests of the web UI
# (e2e/browser, behind the browser build tag), which drive Debian's
# Chromium; it is installed first when it is missing.
#
# Plain `go test ./...` needs Go and curl; this script also needs a C
# compiler (for -race) and, to install Chromium, apt-get (as root or with
# sudo). JETFLOW_CHROMIUM names another Chrome or Chromium binary.
set -euo pipefail
cd "$(dirname "$0")"

if [ -z "${JETFLOW_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
	echo "--- installing chromium for the browser tests"
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

# deploy's smoke-script test reads the web UI with curl.
if ! command -v curl >/dev/null 2>&1; then
	echo "--- installing curl for deploy/smoke.sh's test"
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq curl >/dev/null
fi

echo "--- go test -race ./..."
go test -race ./...
echo "--- go test -race -tags browser ./e2e/browser"
go test -race -tags browser ./e2e/browser
