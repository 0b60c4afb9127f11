// Package expect is the expectations document of `kubectl access check`:
// which subjects must be allowed, and which denied, which actions, where. It
// reads the document strictly, reporting every mistake at its file and line
// before anything is sent to a server, and writes it back in the same form.
//
// A document:
//
//	apiVersion: access.kubectl-access.io/v1alpha1
//	kind: AccessExpectations
//	expectations:
//	- subjects: [build/ci, current]
//	  namespaces: [build, staging]     # or ["*"], or namespaceSelector: "team=a"
//	  allow:
//	  - create pods/exec
//	  - get deployments.apps -n prod
//	  - {verb: get, resource: secrets, name: app-config}
//	  deny:
//	  - get /metrics
//
// The YAML is decoded node by node (go.yaml.in/yaml/v3), not converted to
// JSON first as sigs.k8s.io/yaml does, so that every error keeps the line of
// the field at fault.
package expect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-access/kubectl-access/pkg/risk"
	"github.com/kubectl-access/kubectl-access/pkg/subject"
)

// APIVersion and Kind identify an expectations document.
const (
	APIVersion = "access.kubectl-access.io/v1alpha1"
	Kind       = "AccessExpectations"
)

// Current is the subject that stands for the caller's own credentials.
const Current = "current"

// AllNamespaces in a namespaces list means every namespace, listed with the
// caller's credentials.
const AllNamespaces = "*"

// Document is one expectations document.
type Document struct {
	// APIVersion is always APIVersion.
	APIVersion string `json:"apiVersion"`
	// Kind is always Kind.
	Kind string `json:"kind"`
	// Expectations are the sets of expectations, in the order written.
	Expectations []Set `json:"expectations"`
}

// Set is what some subjects must be allowed and denied, and where.
type Set struct {
	// Subjects are service accounts written "namespace/name", or Current.
	Subjects []string `json:"subjects"`
	// Namespaces are where the actions are asked; AllNamespaces alone means
	// every namespace. Neither this nor NamespaceSelector means the
	// subject's own namespace (the context's for Current).
	Namespaces []string `json:"namespaces,omitempty"`
	// NamespaceSelector is a label selector ("team=a,env!=dev") that picks
	// the namespaces instead.
	NamespaceSelector string `json:"namespaceSelector,omitempty"`
	// Allow are the actions the subjects must be allowed.
	Allow []Action `json:"allow,omitempty"`
	// Deny are the actions the subjects must not be allowed.
	Deny []Action `json:"deny,omitempty"`

	// Pos is where the set starts.
	Pos Pos `json:"-"`
	// SubjectPos is where each subject is written.
	SubjectPos []Pos `json:"-"`
}

// Action is one action of an allow or deny list.
type Action struct {
	risk.Action
	// Namespaces, when set, replace the set's namespaces for this action
	// ("-n NS" in the one-line form).
	Namespaces []string
	// Pos is where the action is written.
	Pos Pos
}

// Pos is a place in a file, for messages.
type Pos struct {
	File string
	Line int
}

// String is "file:line", or "file" when the line is unknown.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Error is a mistake in a document, at the place it was found.
type Error struct {
	Pos Pos
	// Field is the path of the field at fault, e.g.
	// "expectations[0].allow[2].verb"; "" for the document itself.
	Field string
	// Problem says what is wrong and what to write instead.
	Problem string
}

// Error is "file:line: field: problem".
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Pos.String() + ": " + e.Problem
	}
	return e.Pos.String() + ": " + e.Field + ": " + e.Problem
}

// StandardVerbs are the verbs the API server's handlers use; SpecialVerbs
// those RBAC knows for particular resources. A verb of neither kind is
// still asked (RBAC allows any verb), with a warning, as kubectl auth can-i
// does.
var (
	StandardVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "proxy", "*"}
	SpecialVerbs  = []string{"use", "bind", "escalate", "impersonate", "approve", "sign", "attest"}
)

// KnownVerb reports whether verb is a standard or a well-known special verb.
func KnownVerb(verb string) bool {
	return slices.Contains(StandardVerbs, verb) || slices.Contains(SpecialVerbs, verb)
}

// Parse reads every document of data (YAML, several separated by "---";
// JSON is YAML too), strictly: an unknown field, a missing one, a value of
// the wrong kind, an action that names a resource and a URL, a subject or
// namespace that is no valid name, are errors (*Error) at their line. name
// is the file's name for messages.
func Parse(name string, data []byte) ([]Document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []Document
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, yamlError(name, err)
		}
		p := &parser{file: name}
		doc := p.document(&root)
		if p.err != nil {
			return nil, p.err
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		return nil, &Error{Pos: Pos{File: name}, Problem: "no document: want apiVersion: " + APIVersion + ", kind: " + Kind + " and expectations"}
	}
	return docs, nil
}

// yamlError gives a YAML syntax error the file's name; go.yaml.in/yaml
// writes "yaml: line N: problem".
func yamlError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if _, scanErr := fmt.Sscanf(n, "%d", &line); scanErr == nil {
				msg = after
			}
		}
	}
	return &Error{Pos: Pos{File: name, Line: line}, Problem: "not valid YAML: " + msg}
}

// parser walks the nodes of one document, keeping the first error.
type parser struct {
	file string
	err  error
}

func (p *parser) pos(n *yaml.Node) Pos { return Pos{File: p.file, Line: n.Line} }

func (p *parser) fail(n *yaml.Node, field, format string, args ...any) {
	if p.err == nil {
		p.err = &Error{Pos: p.pos(n), Field: field, Problem: fmt.Sprintf(format, args...)}
	}
}

// fields checks that n is a mapping of known keys, each once, and returns
// the value of each key and the node of each key (for its line).
func (p *parser) fields(n *yaml.Node, path string, known ...string) (map[string]*yaml.Node, map[string]*yaml.Node) {
	values, keys := map[string]*yaml.Node{}, map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.fail(n, path, "want a mapping with %s, got %s", strings.Join(known, ", "), kindName(n))
		return values, keys
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := join(path, k.Value)
		switch {
		case k.Kind != yaml.ScalarNode:
			p.fail(k, path, "a key must be a plain string")
		case !slices.Contains(known, k.Value):
			p.fail(k, field, "unknown field; known fields: %s", strings.Join(known, ", "))
		case keys[k.Value] != nil:
			p.fail(k, field, "given twice (first on line %d)", keys[k.Value].Line)
		}
		values[k.Value], keys[k.Value] = v, k
	}
	return values, keys
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch {
		case n.Tag == "!!null":
			return "nothing"
		case len(n.Value) > 32:
			// Long values are not repeated: a token pasted in the wrong
			// place must not reach stderr.
			return "a value of " + strings.TrimPrefix(n.Tag, "!!") + " type"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// str returns the string value of a scalar node.
func (p *parser) str(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.fail(n, field, "want a string, got %s", kindName(n))
		return ""
	}
	if n.Tag != "!!str" {
		p.fail(n, field, "want a string, got %s (%s); quote it", kindName(n), strings.TrimPrefix(n.Tag, "!!"))
		return ""
	}
	return n.Value
}

// list returns the items of a sequence node.
func (p *parser) list(n *yaml.Node, field string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		p.fail(n, field, "want a list, got %s", kindName(n))
		return nil
	}
	return n.Content
}

func (p *parser) document(root *yaml.Node) Document {
	var doc Document
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	values, keys := p.fields(n, "", "apiVersion", "kind", "expectations")
	if p.err != nil {
		return doc
	}
	for _, f := range []string{"apiVersion", "kind", "expectations"} {
		if values[f] == nil {
			p.fail(n, f, "missing")
		}
	}
	if p.err != nil {
		return doc
	}
	if doc.APIVersion = p.str(values["apiVersion"], "apiVersion"); p.err == nil && doc.APIVersion != APIVersion {
		p.fail(values["apiVersion"], "apiVersion", "want %s, got %q", APIVersion, doc.APIVersion)
	}
	if doc.Kind = p.str(values["kind"], "kind"); p.err == nil && doc.Kind != Kind {
		p.fail(values["kind"], "kind", "want %s, got %q", Kind, doc.Kind)
	}
	items := p.list(values["expectations"], "expectations")
	if p.err == nil && len(items) == 0 {
		p.fail(keys["expectations"], "expectations", "empty: list at least one set of subjects and their allow and deny actions")
	}
	for i, item := range items {
		doc.Expectations = append(doc.Expectations, p.set(item, fmt.Sprintf("expectations[%d]", i)))
	}
	return doc
}

func (p *parser) set(n *yaml.Node, path string) Set {
	s := Set{Pos: p.pos(n)}
	values, keys := p.fields(n, path, "subjects", "namespaces", "namespaceSelector", "allow", "deny")
	if p.err != nil {
		return s
	}
	if values["subjects"] == nil {
		p.fail(n, join(path, "subjects"), "missing: name the service accounts (namespace/name) or current")
		return s
	}
	subjects := p.list(values["subjects"], join(path, "subjects"))
	if p.err == nil && len(subjects) == 0 {
		p.fail(keys["subjects"], join(path, "subjects"), "empty: name at least one service account (namespace/name) or current")
	}
	for i, item := range subjects {
		field := fmt.Sprintf("%s.subjects[%d]", path, i)
		sub := p.str(item, field)
		if p.err == nil {
			if err := ValidateSubject(sub); err != nil {
				p.fail(item, field, "%v", err)
			}
		}
		s.Subjects = append(s.Subjects, sub)
		s.SubjectPos = append(s.SubjectPos, p.pos(item))
	}
	if v := values["namespaces"]; v != nil {
		s.Namespaces = p.namespaces(v, join(path, "namespaces"))
		if p.err == nil && len(s.Namespaces) == 0 {
			p.fail(keys["namespaces"], join(path, "namespaces"), "empty: list namespaces, \"*\" for every one, or leave the field out for the subject's own")
		}
	}
	if v := values["namespaceSelector"]; v != nil {
		field := join(path, "namespaceSelector")
		s.NamespaceSelector = p.str(v, field)
		switch {
		case p.err != nil:
		case values["namespaces"] != nil:
			p.fail(keys["namespaceSelector"], field, "namespaces and namespaceSelector cannot be used together")
		default:
			if err := ValidateSelector(s.NamespaceSelector); err != nil {
				p.fail(v, field, "%v", err)
			}
		}
	}
	if values["allow"] == nil && values["deny"] == nil {
		p.fail(n, path, "neither allow nor deny: list the actions the subjects must be allowed or denied")
	}
	for _, list := range []string{"allow", "deny"} {
		v := values[list]
		if v == nil {
			continue
		}
		items := p.list(v, join(path, list))
		if p.err == nil && len(items) == 0 {
			p.fail(keys[list], join(path, list), "empty: list actions, or leave the field out")
		}
		var actions []Action
		for i, item := range items {
			actions = append(actions, p.action(item, fmt.Sprintf("%s.%s[%d]", path, list, i)))
		}
		if list == "allow" {
			s.Allow = actions
		} else {
			s.Deny = actions
		}
	}
	return s
}

// namespaces reads a list of namespace names, or "*" alone.
func (p *parser) namespaces(n *yaml.Node, field string) []string {
	var out []string
	items := p.list(n, field)
	for i, item := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		ns := p.str(item, f)
		if p.err != nil {
			return out
		}
		if err := ValidateNamespaceEntry(ns, len(items)); err != nil {
			p.fail(item, f, "%v", err)
		}
		out = append(out, ns)
	}
	return out
}

// action reads an action: one line ("create pods/exec -n prod") or a
// mapping of its fields.
func (p *parser) action(n *yaml.Node, path string) Action {
	a := Action{Pos: p.pos(n)}
	if n.Kind == yaml.ScalarNode {
		text := p.str(n, path)
		if p.err != nil {
			return a
		}
		parsed, err := ParseAction(text)
		if err != nil {
			p.fail(n, path, "%v", err)
		}
		parsed.Pos = a.Pos
		return parsed
	}
	known := []string{"verb", "group", "resource", "subresource", "name", "nonResourceURL", "namespaces"}
	values, keys := p.fields(n, path, known...)
	if p.err != nil {
		return a
	}
	get := func(f string) string {
		if v := values[f]; v != nil {
			return p.str(v, join(path, f))
		}
		return ""
	}
	a.Verb, a.Group, a.Resource, a.Subresource, a.Name, a.NonResourceURL =
		get("verb"), get("group"), get("resource"), get("subresource"), get("name"), get("nonResourceURL")
	if v := values["namespaces"]; v != nil {
		a.Namespaces = p.namespaces(v, join(path, "namespaces"))
		if p.err == nil && len(a.Namespaces) == 0 {
			p.fail(keys["namespaces"], join(path, "namespaces"), "empty: list namespaces, or leave the field out for the set's")
		}
	}
	if p.err != nil {
		return a
	}
	if err := a.validate(values["verb"] != nil); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) && keys[fe.field] != nil {
			p.fail(keys[fe.field], join(path, fe.field), "%s", fe.problem)
		} else if errors.As(err, &fe) {
			p.fail(n, join(path, fe.field), "%s", fe.problem)
		}
	}
	return a
}

// fieldError is a problem with one field of an action.
type fieldError struct {
	field, problem string
}

func (e *fieldError) Error() string { return e.field + ": " + e.problem }

// validate checks the fields of a written-out action together.
func (a Action) validate(verbGiven bool) error {
	fail := func(field, format string, args ...any) error {
		return &fieldError{field: field, problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case !verbGiven || a.Verb == "":
		return fail("verb", "missing: every action has a verb, e.g. get")
	case strings.ContainsAny(a.Verb, " \t/."):
		return fail("verb", "%q is not a verb", a.Verb)
	case a.Verb != strings.ToLower(a.Verb):
		return fail("verb", "%q is not lower case: verbs are, e.g. \"get\"", a.Verb)
	case a.NonResourceURL != "" && (a.Resource != "" || a.Group != "" || a.Subresource != "" || a.Name != ""):
		return fail("nonResourceURL", "an action names a resource (resource, group, subresource, name) or a nonResourceURL, not both")
	case a.NonResourceURL != "" && len(a.Namespaces) > 0:
		return fail("namespaces", "a nonResourceURL is asked once for the cluster, not per namespace")
	case a.NonResourceURL != "":
		if !strings.HasPrefix(a.NonResourceURL, "/") || strings.ContainsAny(a.NonResourceURL, " \t") {
			return fail("nonResourceURL", "%q is not a path: want one starting with /, e.g. /metrics", a.NonResourceURL)
		}
		return nil
	case a.Resource == "":
		return fail("resource", "missing: name a resource (its plural, e.g. pods) or a nonResourceURL")
	}
	for _, f := range []struct{ name, value, bad string }{
		{"resource", a.Resource, " \t/."}, {"group", a.Group, " \t/"}, {"subresource", a.Subresource, " \t/."}, {"name", a.Name, " \t/"},
	} {
		if strings.ContainsAny(f.value, f.bad) {
			return fail(f.name, "%q contains a character a %s never has", f.value, f.name)
		}
		if f.name != "name" && f.value != strings.ToLower(f.value) {
			return fail(f.name, "%q is not lower case", f.value)
		}
	}
	return nil
}

// ParseAction reads the one-line form of an action: risk.ParseAction's
// "VERB RESOURCE[/SUBRESOURCE][.GROUP] [NAME]" or "VERB /PATH", with
// "-n NS", "--namespace NS" or "--namespace=NS" anywhere after the verb
// (once) for the namespace to ask it in.
func ParseAction(s string) (Action, error) {
	words := strings.Fields(s)
	var rest []string
	var namespace string
	seen := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		var value string
		switch {
		case w == "-n" || w == "--namespace":
			if i+1 >= len(words) {
				return Action{}, &risk.ActionError{Action: s, Problem: w + " needs a namespace after it"}
			}
			i++
			value = words[i]
		case strings.HasPrefix(w, "--namespace="):
			value = strings.TrimPrefix(w, "--namespace=")
		case strings.HasPrefix(w, "-n=") || (strings.HasPrefix(w, "-n") && len(w) > 2 && !strings.HasPrefix(w, "--")):
			value = strings.TrimPrefix(strings.TrimPrefix(w, "-n"), "=")
		case strings.HasPrefix(w, "-"):
			return Action{}, &risk.ActionError{Action: s, Problem: fmt.Sprintf("unknown option %q: only -n/--namespace NS is accepted", w)}
		default:
			rest = append(rest, w)
			continue
		}
		if seen {
			return Action{}, &risk.ActionError{Action: s, Problem: "-n/--namespace given twice: write the action once per namespace, or use namespaces:"}
		}
		seen = true
		if err := subject.ValidateNamespace(value); err != nil {
			return Action{}, &risk.ActionError{Action: s, Problem: "-n: " + err.Error()}
		}
		namespace = value
	}
	ra, err := risk.ParseAction(strings.Join(rest, " "))
	if err != nil {
		var ae *risk.ActionError
		if errors.As(err, &ae) {
			return Action{}, &risk.ActionError{Action: s, Problem: ae.Problem}
		}
		return Action{}, err
	}
	a := Action{Action: ra}
	if seen {
		if ra.NonResourceURL != "" {
			return Action{}, &risk.ActionError{Action: s, Problem: "a non-resource URL is asked once for the cluster; it takes no -n"}
		}
		a.Namespaces = []string{namespace}
	}
	return a, nil
}

// String writes a the way ParseAction reads it, when it can be written on
// one line.
func (a Action) String() string {
	s := a.Action.String()
	if len(a.Namespaces) == 1 {
		s += " -n " + a.Namespaces[0]
	}
	return s
}

// compact reports whether a reads back the same from its one-line form.
func (a Action) compact() bool {
	if len(a.Namespaces) > 1 || (len(a.Namespaces) == 1 && a.Namespaces[0] == AllNamespaces) {
		return false
	}
	back, err := ParseAction(a.String())
	return err == nil && back.Action == a.Action && slices.Equal(back.Namespaces, a.Namespaces)
}

// actionJSON is the written-out form of an action.
type actionJSON struct {
	Verb           string   `json:"verb"`
	Group          string   `json:"group,omitempty"`
	Resource       string   `json:"resource,omitempty"`
	Subresource    string   `json:"subresource,omitempty"`
	Name           string   `json:"name,omitempty"`
	NonResourceURL string   `json:"nonResourceURL,omitempty"`
	Namespaces     []string `json:"namespaces,omitempty"`
}

// MarshalJSON writes the one-line form when it reads back the same, else
// the written-out fields.
func (a Action) MarshalJSON() ([]byte, error) {
	if a.compact() {
		return json.Marshal(a.String())
	}
	return json.Marshal(actionJSON{Verb: a.Verb, Group: a.Group, Resource: a.Resource, Subresource: a.Subresource,
		Name: a.Name, NonResourceURL: a.NonResourceURL, Namespaces: a.Namespaces})
}

// ValidateSubject checks a subject: Current, or "namespace/name" of a
// service account.
func ValidateSubject(s string) error {
	if s == Current {
		return nil
	}
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		// The value is not repeated: it may be a token pasted here.
		return fmt.Errorf("not a subject: want a service account as namespace/name, e.g. build/ci, or %s", Current)
	}
	if err := subject.ValidateNamespace(ns); err != nil {
		return fmt.Errorf("the namespace of a subject %v", err)
	}
	if err := subject.ValidateServiceAccountName(name); err != nil {
		return fmt.Errorf("the name of a subject %v", err)
	}
	return nil
}

// ValidateNamespaceEntry checks one entry of a namespaces list of n
// entries: a namespace name, or AllNamespaces alone.
func ValidateNamespaceEntry(ns string, n int) error {
	if ns == AllNamespaces {
		if n > 1 {
			return errors.New(`"*" means every namespace: it stands alone`)
		}
		return nil
	}
	return subject.ValidateNamespace(ns)
}

// ValidateSelector checks a label selector.
func ValidateSelector(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty: write a label selector such as team=a, or use namespaces: [\"*\"] for every namespace")
	}
	if _, err := labels.Parse(s); err != nil {
		return fmt.Errorf("not a label selector: %v", err)
	}
	return nil
}
