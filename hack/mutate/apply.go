package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
)

// mutations is gremlins v0.6.0's token→replacement table for each mutator
// type (tokenMutations in internal/engine/mappings.go), keyed by the name
// its JSON reports (mutator.Type.String). The unseen runner applies a
// mutant from that JSON with this table, so it makes the very change
// gremlins would have made had it run the mutant. (INVERT_ASSIGNMENTS
// mapping %= to itself is gremlins' own.)
var mutations = map[string]map[token.Token]token.Token{
	"ARITHMETIC_BASE": {
		token.ADD: token.SUB,
		token.MUL: token.QUO,
		token.QUO: token.MUL,
		token.REM: token.MUL,
		token.SUB: token.ADD,
	},
	"CONDITIONALS_BOUNDARY": {
		token.GEQ: token.GTR,
		token.GTR: token.GEQ,
		token.LEQ: token.LSS,
		token.LSS: token.LEQ,
	},
	"CONDITIONALS_NEGATION": {
		token.EQL: token.NEQ,
		token.GEQ: token.LSS,
		token.GTR: token.LEQ,
		token.LEQ: token.GTR,
		token.LSS: token.GEQ,
		token.NEQ: token.EQL,
	},
	"INCREMENT_DECREMENT": {
		token.DEC: token.INC,
		token.INC: token.DEC,
	},
	"INVERT_ASSIGNMENTS": {
		token.ADD_ASSIGN: token.SUB_ASSIGN,
		token.MUL_ASSIGN: token.QUO_ASSIGN,
		token.QUO_ASSIGN: token.MUL_ASSIGN,
		token.REM_ASSIGN: token.REM_ASSIGN,
		token.SUB_ASSIGN: token.ADD_ASSIGN,
	},
	"INVERT_BITWISE": {
		token.AND:     token.OR,
		token.OR:      token.AND,
		token.XOR:     token.AND,
		token.AND_NOT: token.AND,
		token.SHL:     token.SHR,
		token.SHR:     token.SHL,
	},
	"INVERT_BWASSIGN": {
		token.AND_ASSIGN:     token.OR_ASSIGN,
		token.OR_ASSIGN:      token.AND_ASSIGN,
		token.XOR_ASSIGN:     token.AND_ASSIGN,
		token.AND_NOT_ASSIGN: token.AND_ASSIGN,
		token.SHL_ASSIGN:     token.SHR_ASSIGN,
		token.SHR_ASSIGN:     token.SHL_ASSIGN,
	},
	"INVERT_LOGICAL": {
		token.LAND: token.LOR,
		token.LOR:  token.LAND,
	},
	"INVERT_LOOPCTRL": {
		token.BREAK:    token.CONTINUE,
		token.CONTINUE: token.BREAK,
	},
	"INVERT_NEGATIVES": {
		token.SUB: token.ADD,
	},
	"REMOVE_SELF_ASSIGNMENTS": {
		token.ADD_ASSIGN:     token.ASSIGN,
		token.AND_ASSIGN:     token.ASSIGN,
		token.AND_NOT_ASSIGN: token.ASSIGN,
		token.MUL_ASSIGN:     token.ASSIGN,
		token.OR_ASSIGN:      token.ASSIGN,
		token.QUO_ASSIGN:     token.ASSIGN,
		token.REM_ASSIGN:     token.ASSIGN,
		token.SHL_ASSIGN:     token.ASSIGN,
		token.SHR_ASSIGN:     token.ASSIGN,
		token.SUB_ASSIGN:     token.ASSIGN,
		token.XOR_ASSIGN:     token.ASSIGN,
	},
}

// tokenAt returns a pointer to the operator of n and its position, for
// the nodes gremlins mutates (NewTokenNode in internal/engine/node.go).
func tokenAt(n ast.Node) (*token.Token, token.Pos, bool) {
	switch n := n.(type) {
	case *ast.AssignStmt:
		return &n.Tok, n.TokPos, true
	case *ast.BinaryExpr:
		return &n.Op, n.OpPos, true
	case *ast.BranchStmt:
		return &n.Tok, n.TokPos, true
	case *ast.IncDecStmt:
		return &n.Tok, n.TokPos, true
	case *ast.UnaryExpr:
		return &n.Op, n.OpPos, true
	}
	return nil, token.NoPos, false
}

// mutate returns src (the file named name) with the mutant of type typ at
// line:column (1-based, in bytes, as gremlins reports them) applied the
// way gremlins applies it: the operator's token replaced in the parsed
// file, which is printed again with go/printer. It refuses, rather than
// guess, when no operator starts there or the one that does is not one
// that typ mutates: the JSON then describes another version of the source.
func mutate(name string, src []byte, typ string, line, column int) ([]byte, error) {
	table, ok := mutations[typ]
	if !ok {
		return nil, fmt.Errorf("%s:%d:%d: unknown mutator %s", name, line, column, typ)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var (
		found *token.Token
		other []string
	)
	ast.Inspect(f, func(n ast.Node) bool {
		tok, pos, ok := tokenAt(n)
		if !ok || !pos.IsValid() {
			return true
		}
		if p := fset.Position(pos); p.Line == line && p.Column == column {
			if _, ok := table[*tok]; ok && found == nil {
				found = tok
			} else {
				other = append(other, tok.String())
			}
		}
		return true
	})
	if found == nil {
		if len(other) > 0 {
			return nil, fmt.Errorf("%s:%d:%d: the operator there is %q, which %s does not mutate; the results are not of this source", name, line, column, other[0], typ)
		}
		return nil, fmt.Errorf("%s:%d:%d: no operator starts there; the results are not of this source", name, line, column)
	}
	orig := *found
	*found = table[orig]
	var b bytes.Buffer
	err = printer.Fprint(&b, fset, f)
	*found = orig
	if err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
