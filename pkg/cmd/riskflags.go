package cmd

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// riskFlags are the flags that turn risk findings into a CI verdict, the
// same for whoami and audit: --fail-on-risk[=SEVERITY], --risk-ignore and
// --risk-exceptions.
type riskFlags struct {
	// failOnRisk is the --fail-on-risk value; "" when not given.
	failOnRisk string
	// ignore are the --risk-ignore values, CHECK[:NAMESPACE].
	ignore []string
	// exceptionsFile is the --risk-exceptions file.
	exceptionsFile string
}

// addRiskFlags registers the flags on fs; found says what a finding is,
// e.g. "a rule or an action allowed outside the listed rules is risky".
func (f *riskFlags) addRiskFlags(fs *pflag.FlagSet, found, unverified string) {
	fs.StringVar(&f.failOnRisk, "fail-on-risk", "", "Exit with code 8 after printing when "+found+" at `SEVERITY` or worse, and with 9 when "+unverified+". One of: critical, high, medium, low; alone it means high (true and false are also accepted). Write the value with =, e.g. --fail-on-risk=critical.")
	fs.Lookup("fail-on-risk").NoOptDefVal = risk.High.String()
	fs.StringArrayVar(&f.ignore, "risk-ignore", nil, "Accept the findings of a risk check, `CHECK[:NAMESPACE]` (see docs/risks.md): still printed, marked accepted, and not counted by --fail-on-risk. Repeat for several.")
	fs.StringVar(&f.exceptionsFile, "risk-exceptions", "", "A YAML `FILE` of accepted findings (kind RiskExceptions; see the help text): each still printed, marked accepted with its reason, and not counted by --fail-on-risk.")
}

// parse reads the threshold (0, off, unless thresholdSet) and the
// exceptions; a bad value is a usage error naming its flag.
func (f *riskFlags) parse(thresholdSet bool) (risk.Severity, risk.Exceptions, error) {
	var threshold risk.Severity
	var exceptions risk.Exceptions
	if thresholdSet {
		t, err := risk.ParseThreshold(f.failOnRisk)
		if err != nil {
			return 0, nil, exitcode.Usagef("--fail-on-risk: %v", err)
		}
		threshold = t
	}
	for i, v := range f.ignore {
		e, err := risk.ParseIgnore(v)
		if err != nil {
			return 0, nil, exitcode.Usagef("--risk-ignore (value %d of %d): %v", i+1, len(f.ignore), err)
		}
		exceptions = append(exceptions, e)
	}
	if f.exceptionsFile != "" {
		data, err := os.ReadFile(f.exceptionsFile)
		if err != nil {
			return 0, nil, exitcode.Usagef("--risk-exceptions: %v", err)
		}
		list, err := risk.ParseExceptions(data)
		if err != nil {
			return 0, nil, exitcode.Usagef("--risk-exceptions %s: %v", f.exceptionsFile, err)
		}
		exceptions = append(exceptions, list...)
	}
	return threshold, exceptions, nil
}
