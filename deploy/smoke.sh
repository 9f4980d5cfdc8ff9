#!/usr/bin/env bash
# smoke.sh: bring up docker-compose.yml's deployment and watch a workflow
# complete on it: the 3-node NATS cluster, the example workers, the web UI,
# Prometheus and Grafana. Run it from anywhere in the repository.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: deploy/smoke.sh [--keep] [--no-compose] [--help]

Starts docker-compose.yml's services (building the worker image), starts
the example workflow Greeting on the cluster, and checks, each within
SMOKE_TIMEOUT seconds:
  1. the run completes with "Hello, smoke!" (wfctl start and result);
  2. the web UI shows the instance as completed (UI_URL/api/instances/ID);
  3. Prometheus has scraped the workers' jetflow metrics;
  4. Grafana serves the jetflow dashboard.
It prints a line per step and exits 0 when all pass, 1 when one fails.
A deployment it started is removed again (docker compose down -v) unless
--keep; one that was already running is left as it was.

Flags:
  --keep        leave the deployment running afterwards
  --no-compose  check a deployment that is already running, without Docker:
                wfctl comes from $WFCTL (default: wfctl on PATH) and
                connects to $NATS_URL
  --help        show this help

Environment:
  SMOKE_TIMEOUT   seconds each step may take (default 180)
  UI_URL          the web UI (default http://127.0.0.1:8233)
  PROMETHEUS_URL  Prometheus (default http://127.0.0.1:9090; "off" skips)
  GRAFANA_URL     Grafana (default http://127.0.0.1:3000; "off" skips)
EOF
}

keep=0
compose=1
for arg in "$@"; do
	case "$arg" in
	--keep) keep=1 ;;
	--no-compose) compose=0 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "smoke: unknown argument $arg (see --help)" >&2; exit 2 ;;
	esac
done

timeout=${SMOKE_TIMEOUT:-180}
ui_url=${UI_URL:-http://127.0.0.1:8233}
prom_url=${PROMETHEUS_URL:-http://127.0.0.1:9090}
grafana_url=${GRAFANA_URL:-http://127.0.0.1:3000}
id="smoke-$(date +%s)-$$"
start=$SECONDS

say() { printf '[%3ds] %s\n' "$((SECONDS - start))" "$*"; }
fail() { say "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "smoke: $1 is needed: $2" >&2; exit 2; }; }

# until_ok DESCRIPTION COMMAND...: runs COMMAND every 2 s until it
# succeeds, or fails the smoke test after SMOKE_TIMEOUT seconds.
until_ok() {
	local what=$1 deadline=$((SECONDS + timeout))
	shift
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			fail "$what: not within ${timeout}s"
		fi
		sleep 2
	done
}

need curl "to read the UI, Prometheus and Grafana"
cd "$(dirname "$0")/.."

started=0
if ((compose)); then
	need docker "see https://docs.docker.com/get-docker/ (or use --no-compose)"
	docker compose version >/dev/null 2>&1 || { echo "smoke: docker compose (v2) is needed" >&2; exit 2; }
	if [[ -z "$(docker compose ps -q)" ]]; then
		started=1
	fi
	cleanup() {
		if ((started && !keep)); then
			say "removing the deployment (docker compose down -v)"
			docker compose down -v >/dev/null 2>&1 || true
		fi
	}
	trap cleanup EXIT
	say "starting the deployment (docker compose up -d --build)"
	docker compose up -d --build
	# wfctl runs inside the compose network, in a throwaway container of
	# the UI's image (it has NATS_URL of the three nodes).
	wfctl() { docker compose run --rm --no-deps -T --entrypoint /usr/local/bin/wfctl ui "$@"; }
else
	wfctl_bin=${WFCTL:-wfctl}
	need "$wfctl_bin" "set WFCTL to a wfctl binary (go build ./cmd/wfctl)"
	wfctl() { "$wfctl_bin" "$@"; }
fi

# A worker provisions the namespace when it starts: until then start
# exits with 3 (namespace not found), and is tried again.
say "starting Greeting as $id (waiting for a worker to provision the namespace)"
until_ok "wfctl start" wfctl start Greeting --id "$id" --input '"smoke"'

say "waiting for its result"
result=$(wfctl result "$id" --wait "${timeout}s") || fail "wfctl result $id: exit $?"
[[ "$result" == '"Hello, smoke!"' ]] || fail "result $result, want \"Hello, smoke!\""
say "result $result"

say "checking the web UI at $ui_url"
ui_completed() { curl -fsS "$ui_url/api/instances/$id" | grep -q '"status": *"completed"'; }
until_ok "the UI shows $id completed" ui_completed

if [[ "$prom_url" != off ]]; then
	say "checking Prometheus at $prom_url has the workers' metrics"
	prom_has() { curl -fsS "$prom_url/api/v1/query?query=jetflow_workflow_completed_total" | grep -q '"__name__":"jetflow_workflow_completed_total"'; }
	until_ok "Prometheus has jetflow_workflow_completed_total" prom_has
fi

if [[ "$grafana_url" != off ]]; then
	say "checking Grafana at $grafana_url serves the jetflow dashboard"
	dashboard() { curl -fsS "$grafana_url/api/dashboards/uid/jetflow" | grep -q '"uid":"jetflow"'; }
	until_ok "Grafana serves the jetflow dashboard" dashboard
fi

say "smoke test passed"
