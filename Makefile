# make test is the one command that proves the tree: the gofmt check, go vet,
# staticcheck (zero findings) and the race-enabled test suite over both
# modules (the library and examples/), then the zone-sensitive packages again
# under other host zones, since their answers must not depend on TZ.
GO ?= go
# staticcheck is pinned; .ci/run installs exactly this version with go install.
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
RACE ?= -race
TESTFLAGS ?= -count=1 -timeout 9m
# Packages whose answers depend on time zones; run again under other TZs.
ZONED := ./window/... ./eligibility/...
# Tests of those packages that read no zone (the Redis fault-injection
# suite): the UTC run covers them, the zone runs skip them.
ZONESKIP := UnderRedisFaults|FailedReadStampedWhenItFails

.PHONY: test fmt-check vet staticcheck staticcheck-install test-unit test-zones bench

test: fmt-check vet staticcheck test-unit test-zones

fmt-check:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	@echo "gofmt: ok"

vet:
	$(GO) vet ./...
	cd examples && $(GO) vet ./...

staticcheck:
	@test -x "$(STATICCHECK)" || { echo "staticcheck missing: make staticcheck-install"; exit 1; }
	@v=$$("$(STATICCHECK)" -version); case "$$v" in *"($(STATICCHECK_VERSION:v%=%))"*) ;; \
		*) echo "staticcheck is $$v, want $(STATICCHECK_VERSION): make staticcheck-install"; exit 1;; esac
	"$(STATICCHECK)" ./...
	cd examples && "$(STATICCHECK)" ./...

staticcheck-install:
	GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

test-unit:
	TZ=UTC $(GO) test $(RACE) $(TESTFLAGS) ./...
	cd examples && TZ=UTC $(GO) test $(RACE) $(TESTFLAGS) ./...

test-zones:
	@for tz in Asia/Seoul America/Los_Angeles; do \
		echo "TZ=$$tz $(GO) test $(RACE) $(TESTFLAGS) -skip '$(ZONESKIP)' $(ZONED)"; \
		TZ=$$tz $(GO) test $(RACE) $(TESTFLAGS) -skip '$(ZONESKIP)' $(ZONED) || exit 1; \
	done

# Benchmarks are never part of make test; BENCHMARKS.md says how its figures
# were taken. Compare two runs with benchstat.
BENCHCOUNT ?= 5
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=$(BENCHCOUNT) ./...
