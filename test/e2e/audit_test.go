package e2e

import (
	"strings"
	"testing"

	"github.com/kubectl-access/kubectl-access/test/harness"
)

// countURI counts the audit events whose requestURI is uri, query and all.
func countURI(uris []string, uri string) int {
	n := 0
	for _, u := range uris {
		if u == uri {
			n++
		}
	}
	return n
}

// TestAuditLog proves the audit log reader that tests of the form "no
// request carried X in its URL" stand on: the request of a command that has
// just exited is already there, exactly as sent.
func TestAuditLog(t *testing.T) {
	t.Run("a request kubectl just sent is logged", func(t *testing.T) {
		const uri = "/api/v1/namespaces/default/serviceaccounts/default"
		before := countURI(env.audit.RequestURIs(t), uri)
		kubectl(t, "get", "sa", "default", "-n", "default").RunOK()
		if after := countURI(env.audit.RequestURIs(t), uri); after <= before {
			t.Errorf("%d audit events for %s after kubectl get sa default -n default, %d before: the request is not logged", after, uri, before)
		}
		// A name nobody asked for before: its events are this run's alone,
		// RequestReceived and ResponseComplete.
		name := "e2e-audit-" + randomSuffix()
		kubectl(t, "get", "sa", name, "-n", "default").ExpectExit(1, "NotFound")
		if n := countURI(env.audit.RequestURIs(t), "/api/v1/namespaces/default/serviceaccounts/"+name); n != 2 {
			t.Errorf("%d audit events for the GET of ServiceAccount %s, want 2 (RequestReceived, ResponseComplete)", n, name)
		}
	})

	t.Run("no request of the plugin carries its token in the URL", func(t *testing.T) {
		ns := newNamespace(t)
		createServiceAccount(t, ns, "audited")
		token := requestToken(t, ns, "audited")
		path := "/api/v1/namespaces/" + ns + "/configmaps"
		access(t, "probe", "--token-file", writeTokenFile(t, token), "--path", path).ExpectExit(4, "403 Forbidden")
		uris := env.audit.RequestURIs(t)
		if countURI(uris, path) == 0 {
			t.Fatalf("the probe of %s is not in the audit log: the check below would prove nothing", path)
		}
		harness.AssertNoSecretLeak(t, "a request URI of the audit log", strings.Join(uris, "\n"), token)
	})
}
