// Package version holds the build identity of kubectl-access, stamped at link
// time with -ldflags "-X ...", and the version of its output records.
package version

import "runtime"

// RecordAPIVersion is the apiVersion of every structured record the plugin
// prints (-o json|yaml) that is not a Kubernetes API object, and of the
// files it reads (whoami --risk-exceptions). Within a version fields are
// only added, never removed or changed in meaning (the whoami record's
// risk severities and acceptances, baseline, grantedBy, grantedElsewhere
// and rbacNote were added so); anything else is a new version.
const RecordAPIVersion = "access.kubectl-access.io/v1alpha1"

// These are set by -ldflags at build time (see the Makefile and
// .goreleaser.yaml); they are variables only so the linker can write them.
var (
	version = "v0.0.0-dev"
	commit  = "unknown"
	date    = "unknown"
)

// Info is the versioned record `kubectl access version -o json|yaml` prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build identity of the running binary.
func Get() Info {
	return Info{
		Version:   version,
		Commit:    commit,
		BuildDate: date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
}
