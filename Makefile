.PHONY: check fmt vet staticcheck tidy web test fuzz build run
check: fmt vet staticcheck tidy web test build   # everything CI checks, but the brief fuzzing (.ci/run)

# The staticcheck version, one that knows Go 1.26; .ci/run installs it.
STATICCHECK_VERSION = v0.8.2

fmt:   ; @out=$$(gofmt -l .); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }
vet:   ; go vet ./...
staticcheck: ; @command -v staticcheck >/dev/null || { echo "staticcheck missing: go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)"; exit 1; }; \
	v=$$(staticcheck -version); case "$$v" in *"($(STATICCHECK_VERSION:v%=%))"*) ;; *) echo "staticcheck is $$v, want $(STATICCHECK_VERSION)"; exit 1;; esac; \
	staticcheck ./...
tidy:  ; go mod tidy -diff
# The browser client: its node tests and its JSDoc types (npm install -g typescript; 7.0.2 and 5.9 pass).
web:   ; node --test web/test/*.test.js && tsc -p web
test:  ; go test -race ./...
fuzz:  ; .ci/fuzz
print-staticcheck-version: ; @echo $(STATICCHECK_VERSION)
build: ; go build -o bin/gateway ./cmd/gateway
run:   ; go run ./cmd/gateway
