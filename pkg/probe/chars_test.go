package probe

import "testing"

// TestCharacterClassEdges pins the ends of each range the --service and
// --path characters come from, and the characters just outside them.
func TestCharacterClassEdges(t *testing.T) {
	cases := []struct {
		c             byte
		service, path bool
	}{
		{'a', true, true}, {'z', true, true}, {'0', true, true}, {'9', true, true},
		{'`', false, false}, {'{', false, false}, {'/', true, true}, {':', true, true},
		{'A', false, true}, {'Z', false, true}, {'@', false, true}, {'[', false, false},
		{'-', true, true}, {'.', true, true}, {'~', false, true}, {'%', false, true},
		{'?', false, false}, {'#', false, false}, {' ', false, false},
	}
	for _, tc := range cases {
		if got := isServiceChar(tc.c); got != tc.service {
			t.Errorf("isServiceChar(%q) = %v, want %v", tc.c, got, tc.service)
		}
		if got := isPathChar(tc.c); got != tc.path {
			t.Errorf("isPathChar(%q) = %v, want %v", tc.c, got, tc.path)
		}
		if got := isQueryChar(tc.c); got != (tc.path || tc.c == '?') {
			t.Errorf("isQueryChar(%q) = %v, want %v", tc.c, got, tc.path || tc.c == '?')
		}
	}
}

// TestCheckPortEdges: a port starting with a digit is a number, 1 to 65535;
// anything else a name.
func TestCheckPortEdges(t *testing.T) {
	cases := []struct {
		port string
		ok   bool
	}{
		{"0", false}, {"1", true}, {"9", true}, {"65535", true}, {"65536", false},
		{"http", true}, {"9http", false}, {"a", true},
	}
	for _, tc := range cases {
		if err := checkPort(tc.port); (err == nil) != tc.ok {
			t.Errorf("checkPort(%q) = %v, want ok %v", tc.port, err, tc.ok)
		}
	}
}
