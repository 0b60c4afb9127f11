#!/usr/bin/env bash
# The main job of kubectl-access, run by `make demo` on a fresh local control
# plane with an authorization webhook (hack/localcluster -authz-webhook sets
# KUBECONFIG and puts kubectl on PATH; the
# Makefile puts bin/kubectl-access there). It shows the documented flow
# failing on a modern cluster and kubectl access doing the job.
set -uo pipefail

bold=$'\e[1m' dim=$'\e[2m' off=$'\e[0m'
[[ -t 1 ]] || bold='' dim='' off=''

failed=0
# step WANT CMD... runs a command the way a user would type it, shows its exit
# code, and marks the demo failed when the code is not the expected one.
step() {
  local want=$1; shift
  printf '\n%s$ %s%s\n' "$bold" "$*" "$off"
  "$@"
  local rc=$?
  if [[ $rc == "$want" ]]; then
    printf '%s(exit %d)%s\n' "$dim" "$rc" "$off"
  else
    printf '%s(exit %d, expected %d)%s\n' "$bold" "$rc" "$want" "$off"
    failed=1
  fi
}
note() { printf '\n%s# %s%s\n' "$dim" "$*" "$off"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

note "A namespace with a CI service account that may read ConfigMaps and Pods"
kubectl create namespace demo >/dev/null
kubectl -n demo create serviceaccount ci >/dev/null
kubectl -n demo create role reader --verb=get,list,watch --resource=configmaps,pods >/dev/null
kubectl -n demo create rolebinding ci-reader --role=reader --serviceaccount=demo:ci >/dev/null
kubectl -n demo create serviceaccount ops >/dev/null
kubectl create clusterrolebinding demo-ops-admin --clusterrole=cluster-admin --serviceaccount=demo:ops >/dev/null

note "The documented flow finds no token Secret on a modern cluster: TOKEN is empty"
step 0 bash -c 'kubectl -n demo get secrets | grep ^ci || echo "no token Secret for ci"'

note "kubectl access token: the TokenRequest API when no Secret exists (claims shown, not the token)"
step 0 kubectl access token ci -n demo --claims

note "kubectl access probe: what the API server answers to that token, TLS verified"
step 4 kubectl access probe ci -n demo --path /api --path /api/v1/namespaces/demo/configmaps --path /api/v1/namespaces/kube-system/secrets

note "kubectl access whoami: who the token is, and everything it may do"
step 0 kubectl access whoami ci -n demo

note "--explain: which RoleBinding and Role grant each rule (the baseline every user holds stays folded)"
step 0 kubectl access whoami ci -n demo --explain

note "The ops service account is bound to cluster-admin: --fail-on-risk exits 8"
step 8 kubectl access whoami ops -n demo --fail-on-risk

note "whoami --check asks the server itself (SelfSubjectAccessReview, as the token): any authorizer, webhooks too"
step 0 kubectl access whoami ci -n demo --check "list pods" --check "create pods/exec"

note "Like GKE, EKS and AKS, this cluster also asks an authorization webhook: it lets the accounts of"
note "webhook-demo exec into pods and read Secrets there, which no RBAC rule shows. whoami asks the server"
note "about every risky action, finds both, and --fail-on-risk exits 8 (a rules-only scanner would pass)"
kubectl create namespace webhook-demo >/dev/null
kubectl -n webhook-demo create serviceaccount app >/dev/null
step 8 kubectl access whoami app -n webhook-demo --fail-on-risk
note "--explain says where each allowed action comes from: no RBAC object grants the webhook's"
step 0 kubectl access whoami app -n webhook-demo --explain --check "create pods/exec"

note "kubectl access check: the access intended, as code, for CI. ci must read ConfigMaps and Pods and never"
note "Secrets; app of webhook-demo must never exec. Each action is asked as the account's own token, so the"
note "webhook's grant counts: check fails with exit 11, and --junit writes a report CI systems show"
cat > "$work/expectations.yaml" <<'YAML'
apiVersion: access.kubectl-access.io/v1alpha1
kind: AccessExpectations
expectations:
- subjects: [demo/ci]
  allow: [list configmaps, get pods]
  deny: [get secrets, create pods/exec]
- subjects: [webhook-demo/app]
  deny: [create pods/exec, delete pods]
YAML
step 11 kubectl access check -f "$work/expectations.yaml" --junit "$work/access.xml"

note "A token pasted where the name goes is refused before any request, and never echoed"
step 2 bash -c 'kubectl access token "$(kubectl access token ci -n demo)" -n demo'

note "kubectl access kubeconfig: a kubeconfig for CI, written with mode 0600"
step 0 kubectl access kubeconfig ci -n demo --duration 1h --output-file "$work/ci.kubeconfig"
step 0 ls -l "$work/ci.kubeconfig"
step 0 kubectl --kubeconfig "$work/ci.kubeconfig" auth whoami
step 0 kubectl --kubeconfig "$work/ci.kubeconfig" get configmaps

note "kubectl access audit: every service account of the cluster, each as its own short-lived token, riskiest first"
note "(ops through cluster-admin, the webhook-demo accounts through the webhook; the rest counted in one line)"
step 8 kubectl access audit --fail-on-risk
if (( failed )); then
  echo "demo: a step did not exit as expected" >&2
  exit 1
fi
echo
echo "demo: done; the local control plane stops now"
