package risk

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSeverityNamesAndOrder(t *testing.T) {
	want := map[Severity]string{Low: "low", Medium: "medium", High: "high", Critical: "critical", 0: "", 5: "", -1: ""}
	for sev, name := range want {
		if got := sev.String(); got != name {
			t.Errorf("Severity(%d).String() = %q, want %q", int(sev), got, name)
		}
	}
	if !(Low < Medium && Medium < High && High < Critical) {
		t.Error("severities are not ordered low < medium < high < critical")
	}
	if diff := cmp.Diff([]Severity{Critical, High, Medium, Low}, Severities()); diff != "" {
		t.Errorf("Severities (-want +got):\n%s", diff)
	}
	if got := SeverityNames("|"); got != "critical|high|medium|low" {
		t.Errorf("SeverityNames = %q", got)
	}
}

func TestParseSeverity(t *testing.T) {
	cases := []struct {
		in      string
		want    Severity
		wantErr string
	}{
		{in: "critical", want: Critical},
		{in: "high", want: High},
		{in: "medium", want: Medium},
		{in: "low", want: Low},
		{in: "HIGH", want: High},
		{in: "", wantErr: `severity "" is not one of critical, high, medium, low`},
		{in: "severe", wantErr: `severity "severe" is not one of critical, high, medium, low`},
		{in: "3", wantErr: `severity "3" is not one of critical, high, medium, low`},
	}
	for _, tc := range cases {
		got, err := ParseSeverity(tc.in)
		if got != tc.want || errString(err) != tc.wantErr {
			t.Errorf("ParseSeverity(%q) = %v, %v; want %v, %q", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseThreshold(t *testing.T) {
	cases := []struct {
		in      string
		want    Severity
		wantErr bool
	}{
		{in: "true", want: High},
		{in: "True", want: High},
		{in: "false", want: 0},
		{in: "critical", want: Critical},
		{in: "low", want: Low},
		{in: "", wantErr: true},
		{in: "yes", wantErr: true},
		{in: "1", wantErr: true},
	}
	for _, tc := range cases {
		got, err := ParseThreshold(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseThreshold(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	_, err := ParseThreshold("yes")
	if want := `"yes" is not one of critical, high, medium, low, true (high) or false (off)`; errString(err) != want {
		t.Errorf("error = %q, want %q", errString(err), want)
	}
}

func TestSeverityJSON(t *testing.T) {
	type rec struct {
		S Severity `json:"s"`
		O Severity `json:"o,omitempty"`
	}
	data, err := json.Marshal(rec{S: Critical})
	if err != nil || string(data) != `{"s":"critical"}` {
		t.Fatalf("json.Marshal = %s, %v", data, err)
	}
	var back rec
	if err := json.Unmarshal([]byte(`{"s":"medium","o":""}`), &back); err != nil || back != (rec{S: Medium}) {
		t.Errorf("json.Unmarshal = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"s":"severe"}`), &back); err == nil {
		t.Error("json.Unmarshal of an unknown severity succeeded")
	}
	if data, err := json.Marshal(rec{}); err != nil || string(data) != `{"s":""}` {
		t.Errorf("json.Marshal of no severity = %s, %v", data, err)
	}
	if _, err := json.Marshal(rec{S: 7}); err == nil {
		t.Error("json.Marshal of severity 7 succeeded")
	}
}

func TestSeverityStepsStayInRange(t *testing.T) {
	cases := []struct{ in, lower, raise Severity }{
		{Low, Low, Medium},
		{Medium, Low, High},
		{High, Medium, Critical},
		{Critical, High, Critical},
	}
	for _, tc := range cases {
		if got := tc.in.lower(); got != tc.lower {
			t.Errorf("%s.lower() = %s, want %s", tc.in, got, tc.lower)
		}
		if got := tc.in.raise(); got != tc.raise {
			t.Errorf("%s.raise() = %s, want %s", tc.in, got, tc.raise)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
