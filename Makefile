# The notes API. `make run` serves it locally on the embedded store;
# `make test` installs or starts what the tests need and runs them all.

SHELL   := /bin/bash
GO      ?= go
PORT    ?= 3000
BIN     := bin

.PHONY: openapi-tools types deploy run run-dynamo dynalite demo web examples reconcile web-config test fuzz load build build-NotesFunction lint bench clean

## run: the API on http://127.0.0.1:$(PORT), notes in ./notes.db
run:
	PORT=$(PORT) $(GO) run .

## demo: the web page of web/ on http://127.0.0.1:5173, signing in to a
## Cognito user pool in moto_server (127.0.0.1:9229) and signing every call
## to the API on http://127.0.0.1:3000 (AUTH=iam), as it does deployed
demo: web
	$(GO) build -o $(BIN)/notes-api .
	$(GO) run ./scripts/demo -api $(BIN)/notes-api

## web: the two libraries the page loads, in web/node_modules (pinned)
web:
	@[ -f web/node_modules/.package-lock.json ] && [ web/node_modules/.package-lock.json -nt web/package-lock.json ] || \
		npm ci --prefix web --no-audit --no-fund --loglevel=error

## examples: what docs/frontend.md's examples import, in docs/examples/node_modules
examples:
	@[ -f docs/examples/node_modules/.package-lock.json ] && [ docs/examples/node_modules/.package-lock.json -nt docs/examples/package-lock.json ] || \
		npm ci --prefix docs/examples --no-audit --no-fund --loglevel=error

## openapi-tools: Redocly CLI, openapi-typescript and TypeScript, pinned, in
## scripts/openapi/node_modules (make lint and make test use them)
openapi-tools:
	@[ -f scripts/openapi/node_modules/.package-lock.json ] && [ scripts/openapi/node_modules/.package-lock.json -nt scripts/openapi/package-lock.json ] || \
		npm ci --prefix scripts/openapi --no-audit --no-fund --loglevel=error

## types: web/api.d.ts, the TypeScript types of routes/openapi.json, which
## web/client.js's JSDoc names (commit it; a test fails when it falls behind)
types: openapi-tools
	scripts/openapi/node_modules/.bin/openapi-typescript routes/openapi.json -o web/api.d.ts

## reconcile: records the Stripe events of the last three days the webhook
## missed, into NOTES_DB (or NOTES_TABLE's), with STRIPE_SECRET_KEY; with no
## key, against stripe-mock (pinned in scripts/tools), as a try
reconcile:
	@if [ -n "$$STRIPE_SECRET_KEY$$STRIPE_SECRET_ARN" ]; then $(GO) run . reconcile; else \
		scripts/with-stripe-mock.sh env STRIPE_SECRET_KEY=sk_test_reconcile $(GO) run . reconcile; fi

## web-config: web/config.json for the deployed stack STACK (the AWS CLI
## reads its outputs): the page then signs in and calls that stack
web-config:
	@[ -n "$(STACK)" ] || { echo "make web-config STACK=<the stack's name>"; exit 1; }
	aws cloudformation describe-stacks --stack-name $(STACK) --output json | $(GO) run ./scripts/webconfig web/config.json

## run-dynamo: the API on the DynamoDB store, in dynalite on 127.0.0.1:$(DYNAMO_PORT)
DYNAMO_PORT ?= 8000
run-dynamo:
	$(GO) build -o $(BIN)/notes-api .
	scripts/dynalite.sh 127.0.0.1 $(DYNAMO_PORT) env PORT=$(PORT) $(BIN)/notes-api

## dynalite: only dynalite, on every interface, for `sam local start-api` in Docker
dynalite:
	scripts/dynalite.sh 0.0.0.0 $(DYNAMO_PORT)

## test: every test, with the race detector, against the servers it needs;
## then each fuzz target for 10,000 inputs (a count, not a time: Go 1.26's
## fuzzing can fail a time-bound run at its deadline, golang/go#75804)
test:
	scripts/with-services.sh sh -c '$(GO) test -race -count=1 -timeout 20m ./... && \
		$(GO) test -count=1 -run "^(TestListFitsLambda|TestMeAtScale)$$" ./routes && \
		$(GO) test -count=1 -run "^$$" -bench . -benchtime 1x ./...'
	scripts/fuzz.sh 10000x

## load: the full load run, 64 clients and 20,000 requests, on bbolt and
## on DynamoDB (dynalite), with its figures (make test runs 8 and 2,000)
load:
	NOTES_LOAD_CLIENTS=64 NOTES_LOAD_REQUESTS=20000 scripts/with-services.sh \
		$(GO) test -count=1 -run '^TestLoad$$' -v -timeout 30m .

## fuzz: each fuzz target for longer (FUZZTIME, 2m by default)
FUZZTIME ?= 2m
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

## build: the local binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/notes-api .

## build-NotesFunction: what `sam build` runs (BuildMethod: makefile): a static
## arm64 bootstrap for provided.al2023, in $(ARTIFACTS_DIR) (sam build sets it;
## bin/ otherwise)
## The tags: lambda.norpc drops aws-lambda-go's net/rpc mode (provided.al2023
## never uses it); lambda leaves out what only a local run needs (the SDK's
## shared-config credential chain, the embedded attachments endpoint).
ARTIFACTS_DIR ?= $(BIN)
LAMBDA_TAGS   := lambda.norpc,lambda
build-NotesFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags $(LAMBDA_TAGS) -trimpath -ldflags='-s -w' -o $(ARTIFACTS_DIR)/bootstrap .

## deploy: sam build and sam deploy of STAGE (dev or prod), its samconfig.toml
## values with PARAMS (Key=Value ...) added: `make deploy STAGE=prod
## PARAMS='AlarmEmail=ops@example.com'` (sam deploy's own --parameter-overrides
## would replace the stage's whole list)
deploy:
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=dev|prod [PARAMS='Key=Value ...']" >&2; exit 2; }
	sam build --config-env $(STAGE)
	sam deploy --config-env $(STAGE) --parameter-overrides "$$($(GO) run ./scripts/params $(STAGE) $(PARAMS))"

## lint: formatting, every go.mod and go.sum tidy, vet and staticcheck
## (pinned in go.mod as a tool), each with the local build's tags and the
## release build's, actionlint on the GitHub workflow (pinned in
## scripts/tools), and Redocly's recommended rules on routes/openapi.json,
## every warning an error (redocly.yaml; the CLI pinned in scripts/openapi)
## and TypeScript's check of web/client.js against web/api.d.ts (JSDoc types,
## no build step) (CI runs it with make test)
lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@for m in . scripts/tools; do (cd $$m && $(GO) mod tidy -diff) || \
		{ echo "go mod tidy would change $$m/go.mod or go.sum (above): run go mod tidy there"; exit 1; }; done
	$(GO) vet ./...
	$(GO) vet -tags $(LAMBDA_TAGS) ./...
	$(GO) tool staticcheck ./...
	$(GO) tool staticcheck -tags $(LAMBDA_TAGS) ./...
	cd scripts/tools && $(GO) tool actionlint $(CURDIR)/.github/workflows/*.yml
	@$(MAKE) -s openapi-tools web
	REDOCLY_TELEMETRY=off scripts/openapi/node_modules/.bin/redocly lint routes/openapi.json --format stylish
	scripts/openapi/node_modules/.bin/tsc -p web/jsconfig.json

## bench: every benchmark with its count, then one table of each figure
## against its baseline of the same run and its target (bench.out keeps the
## raw output)
bench:
	set -o pipefail; scripts/with-services.sh sh -c '\
		$(GO) test -run "^$$" -bench "^BenchmarkColdStart$$" -benchtime 20x -timeout 30m . && \
		$(GO) test -run "^$$" -bench "^BenchmarkWarmMemory$$" -benchtime 50000x -timeout 30m . && \
		$(GO) test -run "^$$" -bench "^BenchmarkLiveHeap$$" -benchtime 50000x ./gateway && \
		$(GO) test -run "^$$" -bench "^BenchmarkReleaseSize$$" -benchtime 1x . && \
		$(GO) test -run "^$$" -bench "^BenchmarkThroughput$$" -benchtime 40000x . && \
		$(GO) test -run "^$$" -bench "^(BenchmarkRequest|BenchmarkHandler|BenchmarkLogBytes)$$" -benchmem ./gateway ./routes' | tee bench.out
	$(GO) run ./scripts/bench/table < bench.out

clean:
	rm -rf $(BIN) notes.db
