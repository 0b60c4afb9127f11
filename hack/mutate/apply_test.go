package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ops has every operator gremlins mutates; it is gofmt'd, so go/printer
// prints it back unchanged and a mutant differs from it by the operator
// alone.
const ops = `package ops

const k = 1 << 3

var v = -k

func f(a, b int, ok bool) int {
	a += b
	a -= b
	a *= b
	a /= b
	a %= b
	a &= b
	a |= b
	a ^= b
	a &^= b
	a <<= 1
	a >>= 1
	a++
	b--
	for a > b {
		if a >= b || a < b && ok {
			break
		}
		if a <= b && a == b || a != b {
			continue
		}
		a = a + b - a*b/a%b
		a = a&b | a ^ b&^a<<1>>1
	}
	return a
}
`

// replaceAt returns src with from, which must start at line:column,
// replaced by to.
func replaceAt(t *testing.T, src string, line, column int, from, to string) string {
	t.Helper()
	lines := strings.SplitAfter(src, "\n")
	l := lines[line-1]
	if !strings.HasPrefix(l[column-1:], from) {
		t.Fatalf("%d:%d of the source is %q, not %q", line, column, l[column-1:], from)
	}
	lines[line-1] = l[:column-1] + to + l[column-1+len(from):]
	return strings.Join(lines, "")
}

func TestMutate(t *testing.T) {
	cases := []struct {
		typ          string
		line, column int
		from, to     string
		// printed is the mutated line where it is not the source's with
		// from replaced by to: gremlins changes the operator in the
		// syntax tree, not in the text, so when the new operator binds
		// differently the printer keeps the tree's grouping with
		// parentheses, or drops the spaces that showed the old one.
		printed string
	}{
		{"ARITHMETIC_BASE", 28, 9, "+", "-", ""},
		{"ARITHMETIC_BASE", 28, 13, "-", "+", ""},
		{"ARITHMETIC_BASE", 28, 16, "*", "/", ""},
		{"ARITHMETIC_BASE", 28, 18, "/", "*", ""},
		{"ARITHMETIC_BASE", 28, 20, "%", "*", ""},
		{"ARITHMETIC_BASE", 5, 9, "-", "+", ""},
		{"INVERT_NEGATIVES", 5, 9, "-", "+", ""},
		{"INVERT_NEGATIVES", 28, 13, "-", "+", ""},
		{"CONDITIONALS_BOUNDARY", 21, 8, ">", ">=", ""},
		{"CONDITIONALS_BOUNDARY", 22, 8, ">=", ">", ""},
		{"CONDITIONALS_BOUNDARY", 22, 18, "<", "<=", ""},
		{"CONDITIONALS_BOUNDARY", 25, 8, "<=", "<", ""},
		{"CONDITIONALS_NEGATION", 21, 8, ">", "<=", ""},
		{"CONDITIONALS_NEGATION", 22, 8, ">=", "<", ""},
		{"CONDITIONALS_NEGATION", 22, 18, "<", ">=", ""},
		{"CONDITIONALS_NEGATION", 25, 8, "<=", ">", ""},
		{"CONDITIONALS_NEGATION", 25, 18, "==", "!=", ""},
		{"CONDITIONALS_NEGATION", 25, 28, "!=", "==", ""},
		{"INCREMENT_DECREMENT", 19, 3, "++", "--", ""},
		{"INCREMENT_DECREMENT", 20, 3, "--", "++", ""},
		{"INVERT_LOGICAL", 22, 13, "||", "&&", "\t\tif a >= b && (a < b && ok) {\n"},
		{"INVERT_LOGICAL", 22, 22, "&&", "||", "\t\tif a >= b || (a < b || ok) {\n"},
		{"INVERT_LOOPCTRL", 23, 4, "break", "continue", ""},
		{"INVERT_LOOPCTRL", 26, 4, "continue", "break", ""},
		{"INVERT_ASSIGNMENTS", 8, 4, "+=", "-=", ""},
		{"INVERT_ASSIGNMENTS", 9, 4, "-=", "+=", ""},
		{"INVERT_ASSIGNMENTS", 10, 4, "*=", "/=", ""},
		{"INVERT_ASSIGNMENTS", 11, 4, "/=", "*=", ""},
		{"INVERT_ASSIGNMENTS", 12, 4, "%=", "%=", ""},
		{"REMOVE_SELF_ASSIGNMENTS", 8, 4, "+=", "=", ""},
		{"REMOVE_SELF_ASSIGNMENTS", 16, 4, "&^=", "=", ""},
		{"REMOVE_SELF_ASSIGNMENTS", 18, 4, ">>=", "=", ""},
		{"INVERT_BITWISE", 3, 13, "<<", ">>", ""},
		{"INVERT_BITWISE", 29, 8, "&", "|", "\t\ta = a | b | a ^ b&^a<<1>>1\n"},
		{"INVERT_BITWISE", 29, 11, "|", "&", "\t\ta = a&b&a ^ b&^a<<1>>1\n"},
		{"INVERT_BITWISE", 29, 15, "^", "&", "\t\ta = (a&b | a) & (b &^ a << 1 >> 1)\n"},
		{"INVERT_BITWISE", 29, 18, "&^", "&", ""},
		{"INVERT_BITWISE", 29, 24, ">>", "<<", ""},
		{"INVERT_BWASSIGN", 13, 4, "&=", "|=", ""},
		{"INVERT_BWASSIGN", 14, 4, "|=", "&=", ""},
		{"INVERT_BWASSIGN", 15, 4, "^=", "&=", ""},
		{"INVERT_BWASSIGN", 16, 4, "&^=", "&=", ""},
		{"INVERT_BWASSIGN", 17, 4, "<<=", ">>=", ""},
	}
	for _, tc := range cases {
		t.Run(tc.typ+" "+tc.from, func(t *testing.T) {
			got, err := mutate("ops.go", []byte(ops), tc.typ, tc.line, tc.column)
			if err != nil {
				t.Fatal(err)
			}
			want := replaceAt(t, ops, tc.line, tc.column, tc.from, tc.to)
			if tc.printed != "" {
				lines := strings.SplitAfter(ops, "\n")
				lines[tc.line-1] = tc.printed
				want = strings.Join(lines, "")
			}
			if diff := cmp.Diff(want, string(got)); diff != "" {
				t.Errorf("mutant (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMutateTable pins the replacements of the mutators gremlins enables
// by default to its own table, one pair at a time, so that an edit to
// mutations shows here and not only as a differently judged mutant.
func TestMutateTable(t *testing.T) {
	want := map[string]map[string]string{
		"ARITHMETIC_BASE":       {"+": "-", "-": "+", "*": "/", "/": "*", "%": "*"},
		"CONDITIONALS_BOUNDARY": {">": ">=", ">=": ">", "<": "<=", "<=": "<"},
		"CONDITIONALS_NEGATION": {"==": "!=", "!=": "==", ">": "<=", ">=": "<", "<": ">=", "<=": ">"},
		"INCREMENT_DECREMENT":   {"++": "--", "--": "++"},
		"INVERT_LOGICAL":        {"&&": "||", "||": "&&"},
		"INVERT_NEGATIVES":      {"-": "+"},
	}
	got := map[string]map[string]string{}
	for typ := range want {
		got[typ] = map[string]string{}
		for from, to := range mutations[typ] {
			got[typ][from.String()] = to.String()
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replacements (-want +got):\n%s", diff)
	}
}

func TestMutateRefuses(t *testing.T) {
	cases := []struct {
		name         string
		typ          string
		line, column int
		want         string
	}{
		{"a column past the operator", "CONDITIONALS_BOUNDARY", 21, 9, "no operator starts there"},
		{"a column before the operator", "CONDITIONALS_BOUNDARY", 21, 7, "no operator starts there"},
		{"the line before", "CONDITIONALS_BOUNDARY", 20, 8, "no operator starts there"},
		{"an operator the mutator does not change", "CONDITIONALS_BOUNDARY", 25, 18, `the operator there is "==", which CONDITIONALS_BOUNDARY does not mutate`},
		{"a plain assignment", "ARITHMETIC_BASE", 28, 5, `the operator there is "=", which ARITHMETIC_BASE does not mutate`},
		{"a line past the end", "CONDITIONALS_NEGATION", 99, 1, "no operator starts there"},
		{"an unknown mutator", "SWAP_EVERYTHING", 21, 8, "unknown mutator SWAP_EVERYTHING"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mutate("ops.go", []byte(ops), tc.typ, tc.line, tc.column)
			if err == nil {
				t.Fatalf("mutated anyway:\n%s", got)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
	if _, err := mutate("bad.go", []byte("package ops\nfunc {"), "CONDITIONALS_NEGATION", 2, 6); err == nil {
		t.Error("a file that does not parse was mutated")
	}
}

// TestMutateKeepsComments: gremlins parses with comments and prints them
// back, so build constraints and directives survive a mutant.
func TestMutateKeepsComments(t *testing.T) {
	src := "//go:build linux\n\n// Package p is documented.\npackage p\n\n// F says why.\nfunc F(a int) bool {\n\treturn a < 1\n}\n"
	got, err := mutate("p.go", []byte(src), "CONDITIONALS_BOUNDARY", 8, 11)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(src, "a < 1", "a <= 1", 1)
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("mutant (-want +got):\n%s", diff)
	}
}
