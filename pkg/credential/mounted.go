package credential

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MountedDir is where Kubernetes mounts a pod's service account token.
const MountedDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// InPod reports whether the process runs in a pod with a mounted service
// account token, the case where no kubeconfig is needed.
func InPod(dir string) bool {
	if os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "token"))
	return err == nil
}

// Mounted reads the pod's own token, namespace and CA from dir. The token is
// re-read on every call: the kubelet rotates it in place.
func Mounted(dir string) (*Credential, error) {
	data, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		return nil, fmt.Errorf("reading the pod's service account token: %w", err)
	}
	token, err := ParseToken(string(data))
	if err != nil {
		return nil, fmt.Errorf("the pod's service account token file %s %w", filepath.Join(dir, "token"), err)
	}
	c := &Credential{Token: token, Source: SourceMounted}
	if ns, err := os.ReadFile(filepath.Join(dir, "namespace")); err == nil {
		c.Namespace = strings.TrimSpace(string(ns))
	}
	if ca, err := os.ReadFile(filepath.Join(dir, "ca.crt")); err == nil {
		c.CAData = ca
	}
	if claims, err := DecodeClaims(token); err == nil {
		c.fillFromClaims(claims)
	}
	return c, nil
}
