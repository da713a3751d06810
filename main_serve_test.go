package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMainServesTheFrameworkServerUnwrapped keeps the serve path as it is:
// main hands provider.New straight to providerserver.Serve, and no program
// code serves a protocol server of its own. The provider was once served
// through a wrapper around the framework's server (internal/carry), which
// the framework's new protocol features (identity, list resources,
// actions) would each have had to pass through; see DESIGN.md.
func TestMainServesTheFrameworkServerUnwrapped(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var serves []*ast.CallExpr
	ast.Inspect(file, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok && isCallOf(call, "providerserver", "Serve") {
			serves = append(serves, call)
		}
		return true
	})
	if len(serves) != 1 {
		t.Fatalf("main.go calls providerserver.Serve %d times, want once", len(serves))
	}
	if args := serves[0].Args; len(args) < 2 || !isCall(args[1], "provider", "New") {
		t.Fatalf("%s: providerserver.Serve is not given provider.New(...) itself", fset.Position(serves[0].Pos()))
	}
}

// servers are the packages a wrapper around the framework's server would
// serve through.
var servers = []string{
	"github.com/hashicorp/terraform-plugin-go/tfprotov5/tf5server",
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server",
	"github.com/hashicorp/terraform-plugin-mux",
}

func TestNoProgramCodeServesAProtocolServerOfItsOwn(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "build" || d.Name() == "tools") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, s := range servers {
				if p == s || strings.HasPrefix(p, s+"/") {
					t.Errorf("%s imports %s: serve the framework's server through providerserver, unwrapped", path, p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// isCall says e is a call of pkg.name.
func isCall(e ast.Expr, pkg, name string) bool {
	call, ok := e.(*ast.CallExpr)
	return ok && isCallOf(call, pkg, name)
}

func isCallOf(call *ast.CallExpr, pkg, name string) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}
