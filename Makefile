# PiCloud: the targets a developer and CI use.
GO          ?= go
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
# Packages whose tests run without -race (protoactor's cluster code races
# under it; DESIGN §7): whole cluster nodes side by side. Everything else
# runs with -race.
NORACE_PKGS := ./cluster/multinode ./server/multinode
# e2e tests of several real picloud processes in cluster mode: built only
# without -race (e2e/cluster_test.go), run in the pass without it, where
# the e2e package builds its picloud binary without -race too.
NORACE_E2E  := TestClusterOfThreeProcesses

# How long CI runs each fuzz target.
FUZZTIME    ?= 10s

# The .proto files whose Go code is generated and committed (make proto),
# and those of them that also get vtprotobuf's codec (the worker protocol,
# whose hot path must not allocate more than a hand codec; comma-separated).
PROTO_FILES   := worker/worker.proto actors/actorspb/actors.proto cluster/executors/executors.proto
VTPROTO_FILES := worker/worker.proto

.PHONY: run build test fuzz lint fmt bench bench-mem proto proto-check ui ui-check ui-test clean

run: ## start PiCloud on the embedded SQLite default in ./data
	$(GO) run ./cmd/picloud

build: ## build bin/picloud
	$(GO) build -o bin/picloud ./cmd/picloud

test: ## vet, format check and every test with -race (NORACE_PKGS without), on SQLite and PostgreSQL
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./cmd/picloud ./e2e
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... $(if $(NORACE_PKGS),| grep -vxF -e "$$($(GO) list $(NORACE_PKGS))"))
ifneq ($(NORACE_PKGS),)
	$(GO) test -count=1 -timeout 10m $(NORACE_PKGS)
endif
ifneq ($(NORACE_E2E),)
	$(GO) test -count=1 -timeout 10m -run '^($(NORACE_E2E))$$' ./e2e
endif

fuzz: ## run each fuzz target for FUZZTIME (CI: a short smoke run)
	$(GO) test -run '^$$' -fuzz '^FuzzPattern$$' -fuzztime $(FUZZTIME) ./domain/
	$(GO) test -run '^$$' -fuzz '^FuzzTrie$$' -fuzztime $(FUZZTIME) ./route/
	$(GO) test -run '^$$' -fuzz '^FuzzOverlaps$$' -fuzztime $(FUZZTIME) ./route/
	$(GO) test -run '^$$' -fuzz '^FuzzShape$$' -fuzztime $(FUZZTIME) ./route/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeFrame$$' -fuzztime $(FUZZTIME) ./worker/

lint: ## staticcheck (installed on first use)
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags e2e ./cmd/picloud ./e2e

fmt:
	gofmt -w $$(git ls-files '*.go')

bench: ## load generator against the real binary and a bare fasthttp handler, one cluster node against three (with PICLOUD_DATABASE_URL), Go benchmarks and bench-mem
	bash bench/run.sh
	bash bench/cluster.sh
	$(GO) test -run '^$$' -bench . -benchmem ./route/ ./sandbox/ ./actors/ ./ingress/ ./worker/
	$(MAKE) --no-print-directory bench-mem

# What bench-mem deploys and measures (bench/cmd/memprobe -h).
MEM_SCRIPTS ?= 1000
MEM_WARM    ?= 100
MEM_ROUNDS  ?= 50

bench-mem: ## memory from start and with MEM_SCRIPTS deployed, idle wake-ups, cold start, deploy to answer
	$(GO) build -o bin/picloud ./cmd/picloud
	$(GO) run ./bench/cmd/memprobe -bin bin/picloud -scripts $(MEM_SCRIPTS) -warm $(MEM_WARM) -rounds $(MEM_ROUNDS)

proto: ## regenerate the committed Go code of the .proto files (pure Go: no protoc needed)
	$(GO) run ./internal/tools/protogen -vt $(VTPROTO_FILES) $(PROTO_FILES)

proto-check: ## fail when the committed generated code is not what make proto makes
	$(GO) run ./internal/tools/protogen -check -vt $(VTPROTO_FILES) $(PROTO_FILES)

ui: ## rebuild the embedded web UI into webui/dist (needs Node.js 20+; commit the result)
	cd webui && npm ci --no-audit --no-fund && npm run build

ui-check: ui ## fail when the committed webui/dist is not what the source builds to
	@stale=$$(git status --porcelain -- webui/dist); \
	  if [ -n "$$stale" ]; then echo "webui/dist is stale: run make ui and commit it:"; echo "$$stale"; exit 1; fi

ui-test: ## Playwright end-to-end test of the web UI against the real binary (needs chromium); screenshots to docs/screenshots
	@test -d webui/node_modules || (cd webui && npm ci --no-audit --no-fund)
	$(GO) build -o bin/picloud ./cmd/picloud
	cd webui && PICLOUD_BIN=../bin/picloud node --test --test-reporter=spec test/ e2e/

clean:
	rm -rf bin data
