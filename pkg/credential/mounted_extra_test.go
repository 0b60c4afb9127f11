package credential

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMountedNamespaceFile: a token that names no service account (not a
// JWT) takes its namespace from the namespace file, when there is one.
func TestMountedNamespaceFile(t *testing.T) {
	for _, tc := range []struct {
		name, namespace string // "" for no namespace file
	}{
		{"with a namespace file", "apps"},
		{"without one", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{"token": "static-token\n"}
			if tc.namespace != "" {
				files["namespace"] = tc.namespace + "\n"
			}
			for name, content := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Mounted(dir)
			if err != nil {
				t.Fatal(err)
			}
			if c.Namespace != tc.namespace || c.Token != "static-token" || c.CAData != nil {
				t.Errorf("Mounted = %+v, want namespace %q, no CA", c, tc.namespace)
			}
		})
	}
}
