package expect

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// Stdin is the name that reads a document from stdin.
const Stdin = "-"

// Load reads every document of the files, directories (their *.yaml,
// *.yml and *.json files, in name order) and stdin (Stdin, at most once)
// named, in the order named, and returns their sets. A document's errors
// are *Error, named after its file ("<stdin>" for stdin).
func Load(names []string, stdin io.Reader) ([]Set, error) {
	if i := slices.Index(names, Stdin); i >= 0 && slices.Contains(names[i+1:], Stdin) {
		return nil, errors.New("- is given twice: stdin can be read once")
	}
	var sets []Set
	read := func(name string, data []byte) error {
		docs, err := Parse(name, data)
		if err != nil {
			return err
		}
		for _, d := range docs {
			sets = append(sets, d.Expectations...)
		}
		return nil
	}
	for _, name := range names {
		if name == Stdin {
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("-: reading stdin: %w", err)
			}
			if err := read("<stdin>", data); err != nil {
				return nil, err
			}
			continue
		}
		files, err := documentFiles(name)
		if err != nil {
			return nil, err
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				return nil, err
			}
			if err := read(file, data); err != nil {
				return nil, err
			}
		}
	}
	return sets, nil
}

// documentFiles is name itself, or the documents of directory name.
func documentFiles(name string) ([]string, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{name}, nil
	}
	entries, err := os.ReadDir(name)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".yaml", ".yml", ".json":
			if !e.IsDir() {
				files = append(files, filepath.Join(name, e.Name()))
			}
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: the directory has no *.yaml, *.yml or *.json file", name)
	}
	return files, nil
}
