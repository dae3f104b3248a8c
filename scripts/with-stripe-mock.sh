#!/usr/bin/env bash
# with-stripe-mock.sh CMD...: runs CMD with STRIPE_API_BASE pointing at
# stripe-mock (pinned in scripts/tools) on a free loopback port, and stops
# stripe-mock however CMD ends.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(cd scripts/tools && go tool -n stripe-mock)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$bin" -http-addr "127.0.0.1:$port" -https-addr "127.0.0.1:0" >/dev/null 2>&1 &
pid=$!
stop() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
trap stop INT TERM
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || { echo "stripe-mock did not start" >&2; exit 1; }
	sleep 0.1
done
status=0
STRIPE_API_BASE="http://127.0.0.1:$port" "$@" || status=$?
stop
exit "$status"
