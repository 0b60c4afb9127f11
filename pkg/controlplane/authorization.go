package controlplane

import (
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// maxWebhookTimeout is the longest webhook timeout kube-apiserver accepts.
const maxWebhookTimeout = 30 * time.Second

// The authorization configuration file, apiserver.config.k8s.io/v1
// AuthorizationConfiguration (GA since Kubernetes 1.32). Only the fields
// Start writes are declared: the plugin module does not depend on
// k8s.io/apiserver.
type authorizationConfiguration struct {
	APIVersion  string       `json:"apiVersion"`
	Kind        string       `json:"kind"`
	Authorizers []authorizer `json:"authorizers"`
}

type authorizer struct {
	Type    string         `json:"type"`
	Name    string         `json:"name"`
	Webhook *webhookConfig `json:"webhook,omitempty"`
}

type webhookConfig struct {
	Timeout                                  string         `json:"timeout"`
	AuthorizedTTL                            string         `json:"authorizedTTL"`
	CacheAuthorizedRequests                  bool           `json:"cacheAuthorizedRequests"`
	UnauthorizedTTL                          string         `json:"unauthorizedTTL"`
	CacheUnauthorizedRequests                bool           `json:"cacheUnauthorizedRequests"`
	SubjectAccessReviewVersion               string         `json:"subjectAccessReviewVersion"`
	MatchConditionSubjectAccessReviewVersion string         `json:"matchConditionSubjectAccessReviewVersion"`
	FailurePolicy                            string         `json:"failurePolicy"`
	ConnectionInfo                           connectionInfo `json:"connectionInfo"`
}

type connectionInfo struct {
	Type           string `json:"type"`
	KubeConfigFile string `json:"kubeConfigFile"`
}

// writeAuthorizationConfig writes, under dir (absolute), the kubeconfig
// kube-apiserver uses to reach the webhook and the authorization
// configuration that names it, and returns the configuration's path.
func writeAuthorizationConfig(dir string, w *AuthorizationWebhook) (string, error) {
	kubeconfig := filepath.Join(dir, "authorization-webhook.kubeconfig")
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["webhook"] = &clientcmdapi.Cluster{Server: w.URL, CertificateAuthorityData: w.CAData}
	cfg.AuthInfos["kube-apiserver"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["webhook"] = &clientcmdapi.Context{Cluster: "webhook", AuthInfo: "kube-apiserver"}
	cfg.CurrentContext = "webhook"
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		return "", err
	}

	timeout := w.Timeout
	if timeout == 0 {
		timeout = DefaultWebhookTimeout
	}
	config := authorizationConfiguration{
		APIVersion: "apiserver.config.k8s.io/v1",
		Kind:       "AuthorizationConfiguration",
		Authorizers: []authorizer{
			{Type: "Node", Name: "node"},
			{Type: "RBAC", Name: "rbac"},
			{Type: "Webhook", Name: "webhook", Webhook: &webhookConfig{
				Timeout: timeout.String(),
				// Caching is off, so a test that changes the webhook's
				// answer sees the change on the next request. The TTLs
				// must still be valid (> 0; 0 would mean the defaults,
				// 5m and 30s); they take no effect.
				AuthorizedTTL:              "1s",
				CacheAuthorizedRequests:    false,
				UnauthorizedTTL:            "1s",
				CacheUnauthorizedRequests:  false,
				SubjectAccessReviewVersion: "v1",
				// Required only with matchConditions, of which there are
				// none: every request RBAC does not allow goes to the
				// webhook.
				MatchConditionSubjectAccessReviewVersion: "v1",
				// A failing webhook denies, with the error as the access
				// review's evaluationError, instead of passing silently.
				FailurePolicy:  "Deny",
				ConnectionInfo: connectionInfo{Type: "KubeConfigFile", KubeConfigFile: kubeconfig},
			}},
		},
	}
	data, err := yaml.Marshal(config)
	if err != nil {
		return "", err
	}
	return writeFile(dir, "authorization-config.yaml", data)
}
