package cmd

import "strings"

// helpIndent is the indentation of examples, kubectl's.
const helpIndent = "  "

// longDesc renders a command's long description as kubectl's
// templates.LongDesc does for the plain prose written here: the text is
// un-indented, each paragraph (lines up to a blank one) becomes one line,
// every paragraph after the first starts with a space, and paragraphs are
// separated by a blank line.
//
// templates.LongDesc renders its text as Markdown through blackfriday, whose
// package initialisation and rendering of every command's text cost
// kubectl-access a tenth of its start-up, for every command, help or not.
// These texts use no Markdown, and TestHelpTextAsKubectlRendersIt checks
// that longDesc renders each exactly as templates.LongDesc does; a text that
// needs Markdown (a list, emphasis, code) fails it.
func longDesc(s string) string {
	if s == "" {
		return s
	}
	var b strings.Builder
	inParagraph := false
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			inParagraph = false
			continue
		case !inParagraph && b.Len() > 0:
			b.WriteString("\n\n")
		}
		inParagraph = true
		b.WriteString(" ")
		b.WriteString(line)
	}
	return strings.TrimSpace(b.String())
}

// examples renders a command's examples as kubectl's templates.Examples
// does: trimmed, and every line indented by two spaces.
func examples(s string) string {
	if s == "" {
		return s
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, line := range lines {
		lines[i] = helpIndent + strings.TrimSpace(line)
	}
	return strings.Join(lines, "\n")
}
