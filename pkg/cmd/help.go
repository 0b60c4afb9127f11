package cmd

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

// helpIndent is the indentation of examples, kubectl's.
const helpIndent = "  "

// rawHelpAnnotation marks a command whose Long and Example are kept as
// written, to be rendered by longDesc and examples when its help is shown
// (renderHelp); its value says which exit codes (exitcode.Help) follow the
// long description: "none", "all" or a comma-separated list. Rendered at
// start-up, every command's text cost every run a hundred microseconds and
// 80 KB of garbage, help or not.
const rawHelpAnnotation = "kubectl-access.io/raw-help"

// allExitCodes, given to setHelp, lists every exit code; nil lists none.
var allExitCodes = []int{}

// setHelp gives c its long description and examples as written, and the
// exit codes its help lists after the description; they are rendered when
// c's help is shown.
func setHelp(c *cobra.Command, long, example string, exitCodes []int) {
	c.Long, c.Example = long, example
	codes := "none"
	switch {
	case exitCodes == nil:
	case len(exitCodes) == 0:
		codes = "all"
	default:
		s := make([]string, len(exitCodes))
		for i, code := range exitCodes {
			s[i] = strconv.Itoa(code)
		}
		codes = strings.Join(s, ",")
	}
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[rawHelpAnnotation] = codes
}

// renderHelp renders c's long description and examples once, if setHelp
// gave them, and lists its exit codes after the description. Commands cobra
// made (help) keep their text as cobra wrote it.
func renderHelp(c *cobra.Command) {
	codes, ok := c.Annotations[rawHelpAnnotation]
	if !ok {
		return
	}
	delete(c.Annotations, rawHelpAnnotation)
	c.Long, c.Example = longDesc(c.Long), examples(c.Example)
	switch codes {
	case "none":
		return
	case "all":
		c.Long += "\n\n" + exitcode.Help()
		return
	}
	var list []int
	for _, s := range strings.Split(codes, ",") {
		code, err := strconv.Atoi(s)
		if err != nil {
			panic(fmt.Sprintf("%s: annotation %s=%q: %v", c.CommandPath(), rawHelpAnnotation, codes, err))
		}
		list = append(list, code)
	}
	c.Long += "\n\n" + exitcode.Help(list...)
}

// RenderHelp renders the help text of c and of every command beneath it,
// for a reader of the command tree that does not go through cobra's help
// (hack/gendocs).
func RenderHelp(c *cobra.Command) {
	renderHelp(c)
	for _, sub := range c.Commands() {
		RenderHelp(sub)
	}
}

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
