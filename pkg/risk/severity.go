package risk

import (
	"fmt"
	"strings"
)

// Severity grades how much a finding gives its holder: Critical is the
// cluster (or every identity in it) at once, Low a foothold that needs more
// to become one. Severities are ordered: a higher value is worse. The zero
// value is no severity, which is what a threshold that is off holds.
type Severity int

// The severities, from the least to the most severe.
const (
	Low Severity = iota + 1
	Medium
	High
	Critical
)

// severityNames are the written names, indexed by Severity.
var severityNames = [...]string{Low: "low", Medium: "medium", High: "high", Critical: "critical"}

// Severities returns every severity, from the most severe down, the order
// in which help text and errors list them.
func Severities() []Severity { return []Severity{Critical, High, Medium, Low} }

// String is the lower-case name: "critical", "high", "medium", "low"; ""
// for the zero value.
func (s Severity) String() string {
	if s < Low || s > Critical {
		return ""
	}
	return severityNames[s]
}

// SeverityNames returns the names of Severities, "critical|high|medium|low"
// joined with sep.
func SeverityNames(sep string) string {
	names := make([]string, 0, len(severityNames))
	for _, s := range Severities() {
		names = append(names, s.String())
	}
	return strings.Join(names, sep)
}

// ParseSeverity reads a severity's name, in any case.
func ParseSeverity(name string) (Severity, error) {
	for _, s := range Severities() {
		if strings.EqualFold(name, s.String()) {
			return s, nil
		}
	}
	return 0, fmt.Errorf("severity %q is not one of %s", name, SeverityNames(", "))
}

// MarshalText writes the name, so that JSON and YAML hold "high", not 3;
// no severity is written "".
func (s Severity) MarshalText() ([]byte, error) {
	if s != 0 && s.String() == "" {
		return nil, fmt.Errorf("severity %d has no name", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a name written by MarshalText.
func (s *Severity) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*s = 0
		return nil
	}
	v, err := ParseSeverity(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// lower is one step less severe, never below Low.
func (s Severity) lower() Severity { return max(s-1, Low) }

// raise is one step more severe, never above Critical.
func (s Severity) raise() Severity { return min(s+1, Critical) }
