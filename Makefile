.PHONY: check fmt vet tidy test fuzz build run
check: fmt vet tidy test build   # everything CI checks, but the brief fuzzing (.ci/run)

fmt:   ; @out=$$(gofmt -l .); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }
vet:   ; go vet ./...
tidy:  ; go mod tidy -diff
test:  ; go test -race ./...
fuzz:  ; .ci/fuzz
build: ; go build -o bin/gateway ./cmd/gateway
run:   ; go run ./cmd/gateway
