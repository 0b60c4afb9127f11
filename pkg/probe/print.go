package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"
)

// decodeStatus reads a metav1.Status from an API server error body.
func decodeStatus(body []byte) (metav1.Status, bool) {
	var status metav1.Status
	if len(body) == 0 || body[0] != '{' {
		return status, false
	}
	if err := json.Unmarshal(body, &status); err != nil || status.Kind != "Status" {
		return status, false
	}
	return status, true
}

// WriteTable prints the human output: the identity line, then one line per
// path with its status, method, URL, latency and error, through a tab writer.
func WriteTable(w io.Writer, r *Report) error {
	if _, err := fmt.Fprintln(w, IdentityLine(r.Identity)); err != nil {
		return err
	}
	tw := printers.GetNewTabWriter(w)
	fmt.Fprintln(tw, "STATUS\tMETHOD\tURL\tLATENCY\tERROR")
	for _, res := range r.Results {
		status := "-"
		if res.Status != 0 {
			status = strconv.Itoa(res.Status) + " " + res.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", status, res.Method, res.URL, FormatLatency(res.LatencyMs), oneLine(res.Error))
	}
	return tw.Flush()
}

// IdentityLine says who the API server saw.
func IdentityLine(id Identity) string {
	if id.Username == "" {
		reason := id.Error
		if reason == "" {
			reason = "not asked"
		}
		return "Identity: unknown (" + reason + ")"
	}
	line := "Identity: " + id.Username
	if len(id.Groups) > 0 {
		line += " (groups: " + strings.Join(id.Groups, ", ") + ")"
	}
	return line
}

// WriteBodies prints the response bodies, like curl: each as received,
// followed by a newline when it does not end with one. Paths that got no
// answer print nothing.
func WriteBodies(w io.Writer, r *Report) error {
	for _, res := range r.Results {
		if res.Body == "" {
			continue
		}
		body := res.Body
		if !strings.HasSuffix(body, "\n") {
			body += "\n"
		}
		if _, err := io.WriteString(w, body); err != nil {
			return err
		}
	}
	return nil
}

// FormatLatency prints a latency in milliseconds the way a person reads it:
// microseconds below 1ms, a tenth of a millisecond below 1s, else
// milliseconds.
func FormatLatency(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// oneLine keeps an error message on one line of the table.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	var b bytes.Buffer
	for _, f := range strings.Fields(s) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f)
	}
	return b.String()
}
