// Package archtest checks the shape of the import graph: deployed binaries
// link no development-only code, the domain needs only the standard
// library, and shared code never imports what sits above it.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/todoevents/todo/"

// goList runs go list with a template over patterns, one line per package.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func TestFunctionBinariesLinkNoDevelopmentCode(t *testing.T) {
	t.Parallel()
	binaries := goList(t, module+"functions/...")
	checked := 0
	for _, pkg := range binaries {
		if !strings.HasSuffix(pkg, "/cmd") {
			continue
		}
		checked++
		for _, dep := range goList(t, "-deps", pkg) {
			if strings.HasPrefix(dep, module+"internal/") || strings.HasPrefix(dep, module+"cmd/") ||
				strings.Contains(dep, "kfake") || strings.Contains(dep, "toxiproxy") {
				t.Errorf("%s links %s, which is for development and tests only", pkg, dep)
			}
		}
	}
	if checked < 4 {
		t.Fatalf("found %d function binaries, want at least 4", checked)
	}
}

func TestDomainImportsOnlyTheStandardLibrary(t *testing.T) {
	t.Parallel()
	domain := map[string]bool{module + "shared/task": true, module + "shared/recurrence": true, module + "shared/apperr": true}
	for pkg := range domain {
		for _, dep := range goList(t, "-deps", pkg) {
			first, _, _ := strings.Cut(dep, "/")
			if strings.Contains(first, ".") && !domain[dep] {
				t.Errorf("%s depends on %s; the domain imports only the standard library", pkg, dep)
			}
		}
	}
}

func TestSharedCodeImportsNothingAboveIt(t *testing.T) {
	t.Parallel()
	for _, line := range goList(t, "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"shared/...") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			for _, above := range []string{"functions/", "internal/", "cmd/", "e2e/"} {
				if strings.HasPrefix(imp, module+above) {
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
		}
	}
}
