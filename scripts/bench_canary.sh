#!/bin/sh
# Benchmark canary_required against a local mock Forgejo API (tests/canary_mock.rs):
# 3,000 changed files (request count, tool time excluding the server) and a 1 MiB body parse.
# Prints the figures; the bench asserts only the request count, never a time.
set -eu
cd "$(dirname "$0")/.."
exec cargo test --release --locked --bench canary -- --nocapture --test-threads=1 2>&1 | grep -v '^\s*$'
