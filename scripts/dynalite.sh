#!/usr/bin/env bash
# dynalite.sh HOST PORT [CMD...]: dynalite in memory on HOST:PORT with the
# notes and purchases tables created, then CMD with the AWS SDK pointed at
# it (NOTES_TABLE, PURCHASES_TABLE, AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB and
# dummy credentials), or, with no CMD, until Ctrl-C. dynalite stops when
# this script does.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:-127.0.0.1} port=${2:-8000}
shift 2 || true
[ -x scripts/dynalite/node_modules/.bin/dynalite ] ||
	npm ci --prefix scripts/dynalite --no-audit --no-fund --loglevel=error
node scripts/dynalite/node_modules/.bin/dynalite --host "$host" --port "$port" --createTableMs 0 &
dpid=$!
cpid=
trap 'kill $cpid $dpid 2>/dev/null' EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
# The tables as template.yaml declares them (the one place their schema is).
go run ./internal/storetest/createtable -endpoint "http://127.0.0.1:$port" -resource NotesTable -table notes
go run ./internal/storetest/createtable -endpoint "http://127.0.0.1:$port" -resource PurchasesTable -table purchases
echo "dynalite: tables notes and purchases on http://$host:$port" >&2
if [ $# -eq 0 ]; then
	wait "$dpid"
else
	# In the background, so that a signal to this script stops it too.
	NOTES_TABLE=notes PURCHASES_TABLE=purchases AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port" \
		AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "$@" &
	cpid=$!
	wait "$cpid"
fi
