#!/usr/bin/env bash
# with-services.sh CMD...: installs and starts the servers the tests talk to,
# each on a free 127.0.0.1 port, runs CMD with their addresses in the
# environment, and stops them by PID however CMD ends.
#
#   NOTES_TEST_DYNAMODB_ENDPOINT  dynalite (npm, pinned in scripts/dynalite)
#   NOTES_TEST_STRIPE_MOCK        stripe-mock (a go tool, pinned in scripts/tools)
#   NOTES_TEST_S3_ENDPOINT        versitygw, an S3 gateway that checks SigV4
#                                 signatures and bucket CORS rules (a go tool,
#                                 pinned in scripts/versitygw/go.mod), on a
#                                 temporary directory; access key "notes-test",
#                                 secret "notes-test-secret"
#   NOTES_TEST_MOTO_ENDPOINT      moto_server, which speaks the Secrets Manager
#                                 and Cognito user pools APIs (on this kind of
#                                 machine's image)
#
# and installs Debian's chromium for the browser tests when it is missing
# and this is root with apt, and the page's libraries and those of the
# frontend examples and the OpenAPI tools (npm ci in web/, docs/examples/
# and scripts/openapi/).
#
# A server that cannot be installed or started is left out: the tests that
# need it skip loudly, or fail when CI=true.
set -uo pipefail
cd "$(dirname "$0")/.."

pids=()
cleanup_dirs=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for d in "${cleanup_dirs[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT INT TERM

free_port() {
	node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_port PORT PID: true once something listens on PORT, false if PID dies.
wait_port() {
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# serve NAME VAR PORT CMD...: starts CMD, which listens on PORT, and
# exports VAR=http://127.0.0.1:PORT once it does.
serve() {
	local name=$1 var=$2 port=$3
	shift 3
	"$@" >/dev/null 2>&1 &
	local pid=$!
	pids+=("$pid")
	if wait_port "$port" "$pid"; then
		export "$var=http://127.0.0.1:$port"
		echo "with-services: $name on http://127.0.0.1:$port (pid $pid)" >&2
	else
		echo "with-services: $name did not start" >&2
	fi
}

start_dynalite() {
	command -v node >/dev/null || { echo "with-services: node not found: no dynalite" >&2; return; }
	if [ ! -x scripts/dynalite/node_modules/.bin/dynalite ]; then
		npm ci --prefix scripts/dynalite --no-audit --no-fund --loglevel=error >&2 ||
			{ echo "with-services: npm ci of dynalite failed" >&2; return; }
	fi
	local port
	port=$(free_port)
	serve dynalite NOTES_TEST_DYNAMODB_ENDPOINT "$port" \
		node scripts/dynalite/node_modules/.bin/dynalite --host 127.0.0.1 --port "$port" --createTableMs 0 --deleteTableMs 0
}

start_stripe_mock() {
	local bin port
	bin=$(cd scripts/tools && go tool -n stripe-mock) || { echo "with-services: cannot build stripe-mock" >&2; return; }
	port=$(free_port)
	# Both listeners on loopback: the HTTPS one is unused, but must not bind
	# every address.
	serve stripe-mock NOTES_TEST_STRIPE_MOCK "$port" "$bin" -http-addr "127.0.0.1:$port" -https-addr "127.0.0.1:0"
}

start_versitygw() {
	local bin port dir
	bin=$(cd scripts/versitygw && go tool -n versitygw) || { echo "with-services: cannot build versitygw" >&2; return; }
	port=$(free_port)
	dir=$(mktemp -d)
	cleanup_dirs+=("$dir")
	serve versitygw NOTES_TEST_S3_ENDPOINT "$port" "$bin" --port "127.0.0.1:$port" \
		--access notes-test --secret notes-test-secret --region us-east-1 --quiet posix "$dir"
}

start_moto() {
	command -v moto_server >/dev/null || { echo "with-services: moto_server not found: no Secrets Manager, no user pools" >&2; return; }
	local port
	port=$(free_port)
	serve moto_server NOTES_TEST_MOTO_ENDPOINT "$port" moto_server -H 127.0.0.1 -p "$port"
}

install_chromium() {
	[ -x /usr/bin/chromium ] && return
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		echo "with-services: chromium is missing and cannot be installed here (needs root and apt)" >&2
		return
	fi
	echo "with-services: installing chromium (apt)" >&2
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null ||
		echo "with-services: apt-get install chromium failed" >&2
}

install_web() {
	command -v npm >/dev/null || { echo "with-services: npm not found: the page's libraries are missing" >&2; return; }
	make -s web >&2 || echo "with-services: npm ci in web/ failed" >&2
	make -s examples >&2 || echo "with-services: npm ci in docs/examples/ failed" >&2
	make -s openapi-tools >&2 || echo "with-services: npm ci in scripts/openapi/ failed" >&2
}

install_chromium
install_web
start_dynalite
start_stripe_mock
start_versitygw
start_moto
"$@"
status=$?
cleanup
exit "$status"
