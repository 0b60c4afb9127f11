package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// equivalent is one surviving mutant declared equivalent in
// hack/mutate/equivalent.yaml: a change that cannot alter what the code
// does, so no test can kill it. Code is a fragment of the source line that
// must cover Column, so an entry whose line has changed since it was
// written is found stale (checkEquivalents) instead of excusing whatever
// mutant now sits there.
type equivalent struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Mutator string `json:"mutator"`
	Code    string `json:"code"`
	Reason  string `json:"reason"`
}

func (e equivalent) key() string {
	return fmt.Sprintf("%s:%d:%d %s", e.File, e.Line, e.Column, e.Mutator)
}

// loadEquivalents reads the declared equivalents; a missing file declares
// none.
func loadEquivalents(path string) ([]equivalent, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var eqs []equivalent
	if err := yaml.UnmarshalStrict(data, &eqs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, e := range eqs {
		if e.File == "" || e.Line <= 0 || e.Column <= 0 || e.Mutator == "" || e.Code == "" || e.Reason == "" {
			return nil, fmt.Errorf("%s: %s: every entry needs file, line, column, mutator, code and reason", path, e.key())
		}
	}
	return eqs, nil
}

// checkEquivalents returns an error for each entry whose fingerprint no
// longer matches the source under root: the line is gone, or Code is not
// on it across Column.
func checkEquivalents(root string, eqs []equivalent) []error {
	var errs []error
	lines := map[string][]string{}
	for _, e := range eqs {
		src, ok := lines[e.File]
		if !ok {
			data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(e.File)))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", e.key(), err))
				continue
			}
			src = strings.Split(string(data), "\n")
			lines[e.File] = src
		}
		if e.Line > len(src) || !covers(src[e.Line-1], e.Code, e.Column) {
			errs = append(errs, fmt.Errorf("%s: the line no longer reads %q there; look at the mutant again and update hack/mutate/equivalent.yaml", e.key(), e.Code))
		}
	}
	return errs
}

// covers reports whether code occurs in line at a place that includes
// column (1-based, in bytes, as go/token counts).
func covers(line, code string, column int) bool {
	for from := 0; ; {
		i := strings.Index(line[from:], code)
		if i < 0 {
			return false
		}
		start := from + i
		if start < column && column <= start+len(code) {
			return true
		}
		from = start + 1
	}
}
