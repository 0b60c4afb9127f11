package cmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// jsonIndent is the indent of every -o json document.
const jsonIndent = "    "

// printDocument prints rec as printRecord does with -o json|yaml (output),
// where each of lists, a list field of rec, is written one element at a
// time as the list makes them. whoami -A --verify lists tens of thousands
// of verified actions and an audit thousands of accounts: encoding such a
// record at once held the document several times over, and YAML, which
// sigs.k8s.io/yaml makes from a generic tree of the whole JSON document,
// took 880 MiB at 500 namespaces. The bytes are the same either way.
func printDocument(out io.Writer, output string, rec any, lists ...listField) error {
	d := &document{b: bufio.NewWriter(out), yaml: output == "yaml"}
	err := d.record(rec, 0, lists...)
	if err == nil && !d.yaml {
		// The newline an Encoder ends a document with; YAML ends with one.
		err = d.b.WriteByte('\n')
	}
	if ferr := d.b.Flush(); err == nil {
		err = ferr
	}
	return err
}

// document is a -o json or -o yaml document written in pieces. A value at
// depth d is an element of a list nested d lists deep.
type document struct {
	b    *bufio.Writer
	yaml bool
}

// listField is a list field of a record that a document writes element by
// element (see listOf).
type listField struct {
	// name is the field's JSON name.
	name string
	// n is the number of elements.
	n int
	// one puts a list of one zero element in the field, none leaves the
	// field empty (nil), and all puts every element there.
	one, none, all func()
	// zero is the text of a zero element at depth.
	zero func(d *document, depth int) ([]byte, error)
	// write writes the elements at depth, each after the separator.
	write func(d *document, depth int) error
}

// listOf is the list field name of a record: the n elements of elems,
// which set puts into the record. write writes an element at its depth;
// nil writes it whole (document.value), a record with lists of its own
// calls document.record.
func listOf[T any](name string, n int, elems iter.Seq[T], set func([]T), write func(d *document, depth int, e T) error) listField {
	if write == nil {
		write = func(d *document, depth int, e T) error { return d.value(e, depth) }
	}
	return listField{
		name: name,
		n:    n,
		one:  func() { set(make([]T, 1)) },
		none: func() { set(nil) },
		all:  func() { set(slices.Collect(elems)) },
		zero: func(d *document, depth int) ([]byte, error) {
			var zero T
			return d.marshal(zero, depth)
		},
		write: func(d *document, depth int) error {
			i := 0
			for e := range elems {
				if i > 0 && !d.yaml {
					d.b.WriteString(",\n")
				}
				if err := write(d, depth, e); err != nil {
					return err
				}
				i++
			}
			if i != n {
				return fmt.Errorf("internal error: %d elements of %q written, %d expected", i, name, n)
			}
			return nil
		},
	}
}

// value writes v at depth.
func (d *document) value(v any, depth int) error {
	data, err := d.marshal(v, depth)
	if err != nil {
		return err
	}
	_, err = d.b.Write(data)
	return err
}

// record writes rec (a pointer to a struct) at depth with the elements of
// each of lists written one by one; rec is left with those lists empty. A
// list of no element is left as rec has it.
//
// The record marshalled with one zero element in each list shows where the
// lists go: the element's text, at its depth, below the field's name. When
// that text is not found exactly once (a string of the record that mimics
// it), the record is marshalled whole.
func (d *document) record(rec any, depth int, lists ...listField) error {
	lists = slices.DeleteFunc(slices.Clone(lists), func(l listField) bool { return l.n == 0 })
	if len(lists) == 0 {
		return d.value(rec, depth)
	}
	for _, l := range lists {
		l.one()
	}
	doc, err := d.marshal(rec, depth)
	for _, l := range lists {
		l.none()
	}
	if err != nil {
		return err
	}
	type place struct {
		listPlace
		list listField
	}
	places := make([]place, 0, len(lists))
	for _, l := range lists {
		p, ok, err := d.place(doc, depth, l)
		if err != nil {
			return err
		}
		if !ok {
			for _, l := range lists {
				l.all()
				defer l.none()
			}
			return d.value(rec, depth)
		}
		places = append(places, place{p, l})
	}
	slices.SortFunc(places, func(a, b place) int { return a.at - b.at })
	last := 0
	for _, p := range places {
		d.b.Write(doc[last:p.at])
		d.b.WriteString(p.open)
		if err := p.list.write(d, depth+1); err != nil {
			return err
		}
		d.b.WriteString(p.close)
		last = p.end
	}
	_, err = d.b.Write(doc[last:])
	return err
}

// listPlace is where a list of one zero element is in a record's text:
// doc[at:end] is that list, which open, the elements and close replace.
type listPlace struct {
	at, end     int
	open, close string
}

// place finds the list l, of one zero element, in doc, the text of a
// record at depth; false when it is not there exactly once.
func (d *document) place(doc []byte, depth int, l listField) (listPlace, bool, error) {
	elem, err := l.zero(d, depth+1)
	if err != nil {
		return listPlace{}, false, err
	}
	name := l.name
	var open, close string
	if d.yaml {
		// Another key that ends with name would hold the marker too, and
		// the marker would then be found twice.
		open = name + ":\n"
	} else {
		field := strings.Repeat(jsonIndent, 2*depth) + jsonIndent
		open = "\n" + field + strconv.Quote(name) + ": [\n"
		close = "\n" + field + "]"
	}
	marker := []byte(open + string(elem) + close)
	i := bytes.Index(doc, marker)
	if i < 0 || bytes.Index(doc[i+1:], marker) >= 0 {
		return listPlace{}, false, nil
	}
	return listPlace{at: i, end: i + len(marker), open: open, close: close}, true, nil
}

// marshal is the text of v at depth, as the document encoded at once holds
// it: for JSON, MarshalIndent's with the indentation of the depth before
// it; for YAML, v as an element of lists nested depth deep. YAML folds a
// long string at a column, so v is marshalled at the column it has in the
// document, inside depth one-element lists, and the "- " of the lists
// around it become indentation.
func (d *document) marshal(v any, depth int) ([]byte, error) {
	if !d.yaml {
		prefix := strings.Repeat(jsonIndent, 2*depth)
		data, err := json.MarshalIndent(v, prefix, jsonIndent)
		if err != nil || depth == 0 {
			return data, err
		}
		return append([]byte(prefix), data...), nil
	}
	for range depth {
		v = []any{v}
	}
	data, err := yaml.Marshal(v)
	if err != nil || depth == 0 {
		return data, err
	}
	lead := strings.Repeat("- ", depth)
	if !bytes.HasPrefix(data, []byte(lead)) {
		return nil, fmt.Errorf("internal error: YAML of a list element does not start with %q", lead)
	}
	copy(data, strings.Repeat("  ", depth-1)+"- ")
	return data, nil
}
