#!/usr/bin/env bash
# Builds the release archives of every platform with goreleaser as a local
# snapshot: nothing is published and nothing is fetched but Go modules.
# Extra arguments go to `goreleaser release`, e.g. -f CONFIG for another
# output directory (test/krew does that).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
goreleaser=$(./hack/build-tools.sh goreleaser)
if [[ -z "$(git remote)" ]]; then
  # goreleaser drops the commit, and so the version, of a repository without
  # a remote (a fresh git init, a worktree of one): name the project's own.
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url \
    GIT_CONFIG_VALUE_0=https://github.com/kubectl-access/kubectl-access.git
fi
exec "$goreleaser" release --snapshot --clean "$@"
