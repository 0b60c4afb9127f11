package risk

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const header = "apiVersion: access.kubectl-access.io/v1alpha1\nkind: RiskExceptions\n"

func TestParseExceptions(t *testing.T) {
	cases := []struct {
		name    string
		file    string
		want    []Exception
		wantErr string
	}{
		{
			name: "every field",
			file: header + `exceptions:
- check: read-secrets
  namespace: build
  serviceAccount: build/ci
  reason: the CI job reads back the Secrets it deploys
- check: exec
  reason: debugging is part of the job
`,
			want: []Exception{
				{Check: ReadSecrets, Namespace: "build", ServiceAccount: "build/ci", Reason: "the CI job reads back the Secrets it deploys"},
				{Check: Exec, Reason: "debugging is part of the job"},
			},
		},
		{name: "no exceptions at all", file: header, want: nil},
		{name: "an empty list", file: header + "exceptions: []\n", want: []Exception{}},
		{name: "an unknown field gives its line", file: header + "exceptions:\n- check: exec\n  reason: x\n  namespaces: [a]\n",
			wantErr: `yaml: unmarshal errors:
  line 6: unknown field namespaces`},
		{name: "an unknown top-level field", file: header + "exception: []\n", wantErr: "yaml: unmarshal errors:\n  line 3: unknown field exception"},
		{name: "a missing reason gives the line of its entry", file: header + "exceptions:\n- check: exec\n  reason: ok\n- check: exec\n  namespace: a\n",
			wantErr: "line 6: exception 2 of 2: no reason: say why the finding is accepted"},
		{name: "a blank reason", file: header + "exceptions:\n- check: exec\n  reason: '  '\n",
			wantErr: "line 4: exception 1 of 1: no reason: say why the finding is accepted"},
		{name: "an unknown check", file: header + "exceptions:\n- check: root\n  reason: x\n",
			wantErr: `line 4: exception 1 of 1: unknown check "root": want one of ` + joinedIDs()},
		{name: "a missing check", file: header + "exceptions:\n- reason: x\n",
			wantErr: `line 4: exception 1 of 1: no check: want one of ` + joinedIDs()},
		{name: "a bad namespace", file: header + "exceptions:\n- check: exec\n  namespace: Build\n  reason: x\n",
			wantErr: `line 4: exception 1 of 1: namespace "Build" is not a valid namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{name: "a service account without its namespace", file: header + "exceptions:\n- check: exec\n  serviceAccount: ci\n  reason: x\n",
			wantErr: `line 4: exception 1 of 1: serviceAccount "ci": want NAMESPACE/NAME, e.g. build/ci`},
		{name: "a service account with a bad name", file: header + "exceptions:\n- check: exec\n  serviceAccount: build/CI\n  reason: x\n",
			wantErr: `line 4: exception 1 of 1: serviceAccount "build/CI": want NAMESPACE/NAME, e.g. build/ci`},
		{name: "another apiVersion", file: "apiVersion: v1\nkind: RiskExceptions\n",
			wantErr: `apiVersion "v1", kind "RiskExceptions": want apiVersion access.kubectl-access.io/v1alpha1, kind RiskExceptions`},
		{name: "another kind", file: "apiVersion: access.kubectl-access.io/v1alpha1\nkind: ConfigMap\n",
			wantErr: `apiVersion "access.kubectl-access.io/v1alpha1", kind "ConfigMap": want apiVersion access.kubectl-access.io/v1alpha1, kind RiskExceptions`},
		{name: "an empty file", file: "", wantErr: "the file is empty"},
		{name: "a second document", file: header + "---\n" + header, wantErr: "line 3: a second YAML document; the file holds one"},
		{name: "not YAML", file: header + "exceptions: [\n", wantErr: "yaml: line 3: did not find expected node content"},
		{name: "a list where a map goes", file: "- a\n", wantErr: "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into the file (a mapping)"},
		{name: "a mapping where the list goes", file: header + "exceptions: {check: exec}\n", wantErr: "yaml: unmarshal errors:\n  line 3: cannot unmarshal !!map into the list of exceptions"},
		{name: "a string where an exception goes", file: header + "exceptions: [exec]\n", wantErr: "yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `exec` into an exception"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseExceptions([]byte(tc.file))
			if errString(err) != tc.wantErr {
				t.Fatalf("error = %q, want %q", errString(err), tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("exceptions (-want +got):\n%s", diff)
			}
		})
	}
}

func joinedIDs() string {
	out := ""
	for i, id := range IDs() {
		if i > 0 {
			out += ", "
		}
		out += id
	}
	return out
}

func TestParseIgnore(t *testing.T) {
	cases := []struct {
		in      string
		want    Exception
		wantErr string
	}{
		{in: "exec", want: Exception{Check: Exec, Reason: IgnoreReason}},
		{in: "read-secrets:build", want: Exception{Check: ReadSecrets, Namespace: "build", Reason: IgnoreReason}},
		{in: "root", wantErr: `"root": unknown check "root": want one of ` + joinedIDs()},
		{in: "", wantErr: `"": no check: want one of ` + joinedIDs()},
		{in: "exec:", wantErr: `"exec:": no namespace after the colon; want CHECK or CHECK:NAMESPACE`},
		{in: ":build", wantErr: `":build": no check: want one of ` + joinedIDs()},
		{in: "exec:a:b", wantErr: `"exec:a:b": namespace "a:b" is not a valid namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
	}
	for _, tc := range cases {
		got, err := ParseIgnore(tc.in)
		if errString(err) != tc.wantErr || got != tc.want {
			t.Errorf("ParseIgnore(%q) = %+v, %q; want %+v, %q", tc.in, got, errString(err), tc.want, tc.wantErr)
		}
	}
}

func TestExceptionsForAndAccepting(t *testing.T) {
	all := Exceptions{
		{Check: Exec, Reason: "everywhere"},
		{Check: ReadSecrets, Namespace: "build", Reason: "in build"},
		{Check: WriteWorkloads, ServiceAccount: "build/ci", Reason: "for ci"},
		{Check: WriteWorkloads, ServiceAccount: "build/other", Reason: "for other"},
	}
	ci := all.For("system:serviceaccount:build:ci")
	if diff := cmp.Diff(Exceptions{all[0], all[1], all[2]}, ci); diff != "" {
		t.Errorf("For(ci) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Exceptions{all[0], all[1]}, all.For("alice")); diff != "" {
		t.Errorf("For(alice) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Exceptions{all[0], all[1]}, all.For("system:serviceaccount:build:ci2")); diff != "" {
		t.Errorf("For(ci2) (-want +got):\n%s", diff)
	}
	cases := []struct {
		check, namespace string
		want             string // the reason of the exception, "" for none
	}{
		{Exec, "build", "everywhere"},
		{Exec, "", "everywhere"},
		{ReadSecrets, "build", "in build"},
		{ReadSecrets, "prod", ""},
		{ReadSecrets, "", ""},
		{WriteWorkloads, "prod", "for ci"},
		{Admin, "build", ""},
	}
	for _, tc := range cases {
		e, ok := ci.Accepting(tc.check, tc.namespace)
		if ok != (tc.want != "") || e.Reason != tc.want {
			t.Errorf("Accepting(%s, %q) = %+v, %v; want reason %q", tc.check, tc.namespace, e, ok, tc.want)
		}
	}
}
