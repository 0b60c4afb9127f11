#!/usr/bin/env bash
# Builds a release tool from the Go module proxy, once per machine and tool
# version, and prints the path of its binary on stdout:
#
#   hack/build-tools.sh goreleaser               (module hack/tools/goreleaser)
#   hack/build-tools.sh krew                     (module hack/tools/krew)
#   hack/build-tools.sh validate-krew-manifest   (module hack/tools/krew)
#   hack/build-tools.sh gremlins                 (module hack/tools/gremlins)
#
# Each tool lives in a module of its own under hack/tools, so that its
# dependencies never reach the plugin's go.mod; goreleaser and krew apart
# because krew v0.4.3 pins 2021 Kubernetes libraries. Binaries are cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-access/tools, keyed by the module's
# go.mod and go.sum, so a version bump rebuilds and nothing else does.
# Cold builds on 2 cores: goreleaser about 2.5 minutes, krew about 25 seconds,
# gremlins about 5 seconds.
set -euo pipefail

name=${1:?usage: hack/build-tools.sh goreleaser|krew|validate-krew-manifest|gremlins}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case "$name" in
  goreleaser) module=goreleaser; pkg=github.com/goreleaser/goreleaser/v2 ;;
  krew) module=krew; pkg=sigs.k8s.io/krew/cmd/krew ;;
  validate-krew-manifest) module=krew; pkg=sigs.k8s.io/krew/cmd/validate-krew-manifest ;;
  gremlins) module=gremlins; pkg=github.com/go-gremlins/gremlins/cmd/gremlins ;;
  *) echo "hack/build-tools.sh: unknown tool $name" >&2; exit 2 ;;
esac
dir="$here/tools/$module"
key=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-16)
cache=${KUBECTL_ACCESS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-access/tools}/$module-$key
out="$cache/$name"
if [[ ! -x "$out" ]]; then
  mkdir -p "$cache"
  echo "building $name (first run only; cached in $cache)" >&2
  start=$SECONDS
  # A temporary name, renamed when complete: concurrent runs never see a
  # half-written binary.
  tmp=$(mktemp "$cache/.$name.XXXXXX")
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp" "$pkg")
  mv -f "$tmp" "$out"
  echo "built $name in $((SECONDS - start))s" >&2
fi
echo "$out"
