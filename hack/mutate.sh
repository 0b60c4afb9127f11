#!/usr/bin/env bash
# Mutation testing of the domain packages with gremlins (pinned in
# hack/tools/gremlins), then docs/mutation.md rendered from the results:
#
#   hack/mutate.sh                       (the packages below)
#   hack/mutate.sh pkg/risk pkg/exitcode (a subset; the others are listed as
#                                         not measured, or, with
#                                         MUTATE_RESULTS, as last measured)
#   MUTATE_UNSEEN_ONLY=1 MUTATE_RESULTS=DIR hack/mutate.sh pkg/risk
#                                        (only the unseen step, below, on
#                                         gremlins results already in DIR)
#
# gremlins never runs a mutant in a switch's case expression or a
# package-level const/var (its coverage comes from -coverprofile blocks,
# which leave those out). After each package's gremlins run,
# `go run ./hack/mutate -run-unseen` runs those itself, the same change in
# a copy of the tree, and writes PKG.unseen.json, which the document counts
# with gremlins' results. It refuses results of another revision than this
# tree's (as named below), so with MUTATE_UNSEEN_ONLY run it on the
# revision gremlins measured.
#
# Unit tests only: gremlins has no flag for test flags, so -short (how this
# repository's tests skip the slow and end-to-end cases) reaches every
# `go test` it runs through GOFLAGS. One package per gremlins run, so that a
# mutant is judged by its own package's tests and each run's JSON stays apart.
#
# MUTATE_BUDGET (seconds, default none) stops starting new packages once
# spent; those left are reported as not measured, with that reason.
# MUTATE_WORKERS defaults to the number of CPUs: each worker runs one
# `go test` at a time. Mutants are timed out at
# MUTATE_TIMEOUT_COEFFICIENT (default 10) times the package's coverage run,
# above gremlins' 3, because a mutant's run also recompiles the package, and
# on 2 cores the workers (and whatever else runs) slow each other down: a
# mutant that only ran slowly would be counted as timed out, neither killed
# nor lived.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
all=(pkg/exitcode pkg/risk pkg/subject pkg/transport pkg/kubeconfig pkg/review pkg/credential pkg/probe
  pkg/audit pkg/check pkg/expect pkg/grant)
if (($# > 0)); then measure=("$@"); else measure=("${all[@]}"); fi

unseen_only=${MUTATE_UNSEEN_ONLY:-}
if [[ -n "$unseen_only" && -z "${MUTATE_RESULTS:-}" ]]; then
  echo "MUTATE_UNSEEN_ONLY needs MUTATE_RESULTS: the directory of the gremlins results to run the unseen mutants of" >&2
  exit 2
fi
if [[ -z "$unseen_only" ]]; then gremlins=$("$here/build-tools.sh" gremlins); fi
workers=${MUTATE_WORKERS:-$(nproc)}
coefficient=${MUTATE_TIMEOUT_COEFFICIENT:-10}
budget=${MUTATE_BUDGET:-0}
# MUTATE_RESULTS keeps gremlins' JSON in that directory instead of a
# temporary one, e.g. to render again without measuring again, or to measure
# one package at a time: the packages not measured this run keep their last
# results there, each with the date and revision of its own run (PKG.run).
if [[ -n "${MUTATE_RESULTS:-}" ]]; then
  results=$MUTATE_RESULTS
  mkdir -p "$results"
else
  results=$(mktemp -d "${TMPDIR:-/tmp}/kubectl-access-mutate.XXXXXX")
  trap 'rm -rf "$results"' EXIT
fi

cd "$root"
# MUTATE_REVISION names what was measured when this is not a git checkout
# (a copy of the tree, say).
revision=${MUTATE_REVISION:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [[ -z "${MUTATE_REVISION:-}" && -n "$(git status --porcelain 2>/dev/null)" ]]; then
  revision="$revision with uncommitted changes"
fi
# -count=1 as well: gremlins times each mutant against the package's
# coverage run, and a cached `go test` result would make that run, and so
# every mutant's timeout, a fraction of a second.
#
# -vet=off: go test runs a subset of go vet before the tests, about a second
# per mutant here, and would count a mutant vet rejects as killed though no
# test noticed it.
export GOFLAGS="$(go env GOFLAGS) -short -count=1 -vet=off"
# The unseen mutants of one package's gremlins results; a refusal (results
# of another revision, say) is reported, and the package's unseen mutants
# stay not run in the document, without stopping the others.
run_unseen() {
  go run ./hack/mutate -run-unseen -results "$results" -revision "$revision" \
    -workers "$workers" -timeout-coefficient "$coefficient" "$1" ||
    echo "$1: the unseen step failed; its unseen mutants are reported as not run" >&2
}
start=$SECONDS
for pkg in "${measure[@]}"; do
  name=${pkg//\//_}
  if [[ -n "$unseen_only" ]]; then
    t=$SECONDS
    run_unseen "$pkg"
    echo "$pkg (unseen only): $((SECONDS - t))s" >&2
    continue
  fi
  if ((budget > 0 && SECONDS - start >= budget)); then
    echo "the time budget of ${budget}s was spent before this package started" >"$results/$name.skipped"
    continue
  fi
  rm -f "$results/$name.json" "$results/$name.skipped" "$results/$name.run" "$results/$name.unseen.json"
  echo "mutating $pkg" >&2
  t=$SECONDS
  measured=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  # A failed run (a package whose tests fail unmutated, say) is reported in
  # the document, not allowed to stop the others.
  if ! "$gremlins" unleash --silent --workers "$workers" --timeout-coefficient "$coefficient" \
    --output "$results/$name.json" "./$pkg"; then
    rm -f "$results/$name.json"
    echo "gremlins failed; run hack/mutate.sh $pkg to see why" >"$results/$name.skipped"
  else
    cat >"$results/$name.run" <<EOF
measured: "$measured"
revision: "$revision"
runtime: "$((SECONDS - t))s"
workers: "$workers"
timeoutCoefficient: "$coefficient"
load: "$load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end ($(nproc) CPUs)"
EOF
    run_unseen "$pkg"
  fi
  echo "$pkg: $((SECONDS - t))s" >&2
done
echo "mutation testing took $((SECONDS - start))s" >&2

version=$(cd "$here/tools/gremlins" && go list -m -f '{{.Version}}' github.com/go-gremlins/gremlins)
go run ./hack/mutate -results "$results" -version "$version" -o docs/mutation.md "${all[@]}"
