package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
)

// unseen finds the positions in a Go file that gremlins v0.6.0 always
// reports NOT COVERED, whatever the tests do: it decides coverage from
// `go test -coverprofile` blocks, and those are statement lists, which
// leave out a switch's case expressions and package-level const and var
// declarations. A mutant there is never run, so it says nothing about the
// tests either way. The body of a function literal is a block of its own,
// wherever it appears, so it is never unseen.
type unseen struct {
	ranges [][2]token.Pos
	// blocks are the bodies of function literals.
	blocks [][2]token.Pos
	file   *token.File
}

func parseUnseen(path string) (*unseen, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	u := &unseen{file: fset.File(f.Pos())}
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && (g.Tok == token.CONST || g.Tok == token.VAR) {
			u.ranges = append(u.ranges, [2]token.Pos{g.Pos(), g.End()})
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CaseClause:
			if len(n.List) > 0 {
				u.ranges = append(u.ranges, [2]token.Pos{n.List[0].Pos(), n.List[len(n.List)-1].End()})
			}
		case *ast.FuncLit:
			u.blocks = append(u.blocks, [2]token.Pos{n.Body.Pos(), n.Body.End()})
		}
		return true
	})
	return u, nil
}

// contains reports whether line:column (1-based) is in one of the ranges.
func (u *unseen) contains(line, column int) bool {
	if line < 1 || line > u.file.LineCount() {
		return false
	}
	pos := u.file.LineStart(line) + token.Pos(column-1)
	for _, b := range u.blocks {
		if b[0] <= pos && pos < b[1] {
			return false
		}
	}
	for _, r := range u.ranges {
		if r[0] <= pos && pos < r[1] {
			return true
		}
	}
	return false
}

// unseenIn parses each file once.
type unseenIn struct {
	root  string
	files map[string]*unseen
}

func (c *unseenIn) contains(file string, line, column int) (bool, error) {
	u, ok := c.files[file]
	if !ok {
		var err error
		u, err = parseUnseen(filepath.Join(c.root, filepath.FromSlash(file)))
		if err != nil {
			return false, err
		}
		c.files[file] = u
	}
	return u.contains(line, column), nil
}
