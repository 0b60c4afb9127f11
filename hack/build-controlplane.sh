#!/usr/bin/env bash
# Builds the local control plane used by the end-to-end tests, the demo and the
# benchmarks: kube-apiserver, kube-controller-manager, kubectl (from
# k8s.io/kubernetes) and etcd, all from the Go module proxy. The binaries are
# cached per version, so only the first run on a machine compiles (about 13
# minutes on 2 cores); later runs return at once.
#
# Prints the directory holding the binaries on stdout.
set -euo pipefail

# The versions live in hack/controlplane/{kube,etcd}/go.mod; the cache
# directory is named after Kubernetes' (pkg/controlplane.BinDir reads it).
KUBE_VERSION=v1.37.2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${KUBECTL_ACCESS_CONTROLPLANE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-access/controlplane/${KUBE_VERSION}}
mkdir -p "$cache"

minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X ${pkg}.gitVersion=${KUBE_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean"
done

# stamp identifies what a binary was built from: its module's go.mod and
# go.sum and the link flags. A binary with another stamp is rebuilt, so a
# version bump never runs stale binaries from the cache.
stamp() { cat "$1/go.mod" "$1/go.sum" <(echo "$ldflags") | sha256sum | cut -d' ' -f1; }

build() { # build NAME MODULE-DIR PACKAGE
  local name=$1 dir=$2 pkg=$3 want
  want=$(stamp "$dir")
  if [[ -x "$cache/$name" && "$(cat "$cache/$name.stamp" 2>/dev/null)" == "$want" ]]; then
    return
  fi
  echo "building $name (first run, or its inputs changed; cached in $cache)" >&2
  local start=$SECONDS
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$cache/$name.tmp" "$pkg")
  mv "$cache/$name.tmp" "$cache/$name"
  echo "$want" >"$cache/$name.stamp"
  echo "built $name in $((SECONDS - start))s" >&2
}

build etcd "$here/controlplane/etcd" .
build kube-apiserver "$here/controlplane/kube" k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager "$here/controlplane/kube" k8s.io/kubernetes/cmd/kube-controller-manager
build kubectl "$here/controlplane/kube" k8s.io/kubernetes/cmd/kubectl
echo "$cache"
