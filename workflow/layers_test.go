package workflow

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNoStorageLayer keeps workflow code free of the storage layer: no
// package that workflow imports, directly or through the module's own
// packages, imports streams or a NATS client. Workflow code must build and
// unit-test (tester) without them.
func TestNoStorageLayer(t *testing.T) {
	const module = "github.com/jetflow/jetflow"
	forbidden := []string{module + "/streams", "github.com/nats-io/"}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	var visit func(pkg string, via []string)
	visit = func(pkg string, via []string) {
		if seen[pkg] {
			return
		}
		seen[pkg] = true
		dir := filepath.Join("..", strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/"))
		entries, err := os.ReadDir(dir)
		require.NoError(t, err, pkg)
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ImportsOnly)
			require.NoError(t, err)
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, bad := range forbidden {
					if p == bad || strings.HasPrefix(p, bad) {
						t.Errorf("%s imports %s (via %s)", filepath.Join(dir, name), p, strings.Join(append(via, pkg), " → "))
					}
				}
				if p == module || strings.HasPrefix(p, module+"/") {
					visit(p, append(via, pkg))
				}
			}
		}
	}
	visit(module+"/workflow", nil)
	require.Contains(t, seen, module+"/history", "the walk follows the module's imports")
}
