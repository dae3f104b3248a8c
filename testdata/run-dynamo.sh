#!/usr/bin/env bash
# run-dynamo.sh DYNAMO_PORT PORT: the API on its DynamoDB store, against
# dynalite in memory on 127.0.0.1:DYNAMO_PORT, with the table created.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
dport=${1:-8000} port=${2:-3000}
[ -x testdata/dynalite/node_modules/.bin/dynalite ] ||
	npm ci --prefix testdata/dynalite --no-audit --no-fund --loglevel=error
node testdata/dynalite/node_modules/.bin/dynalite --host 127.0.0.1 --port "$dport" --createTableMs 0 &
dpid=$!
trap 'kill $dpid 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$dport") 2>/dev/null && break; sleep 0.1; done
# dynalite checks that a request is signed, not the signature.
curl -sS -o /dev/null -X POST "http://127.0.0.1:$dport/" \
	-H 'Content-Type: application/x-amz-json-1.0' \
	-H 'X-Amz-Target: DynamoDB_20120810.CreateTable' \
	-H "X-Amz-Date: $(date -u +%Y%m%dT%H%M%SZ)" \
	-H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
	-d '{"TableName":"notes","BillingMode":"PAY_PER_REQUEST",
	     "AttributeDefinitions":[{"AttributeName":"userId","AttributeType":"S"},{"AttributeName":"noteId","AttributeType":"S"}],
	     "KeySchema":[{"AttributeName":"userId","KeyType":"HASH"},{"AttributeName":"noteId","KeyType":"RANGE"}]}'
NOTES_TABLE=notes AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$dport" \
	AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local PORT="$port" go run .
