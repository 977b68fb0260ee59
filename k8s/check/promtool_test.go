package check

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAlertRulesWithPromtool checks monitoring/alerts.yml with the real
// promtool (make test builds it once and sets PROMTOOL) and runs its unit
// tests, monitoring/alerts_test.yml: for every alert, series that fire it
// and series that must not.
func TestAlertRulesWithPromtool(t *testing.T) {
	bin := os.Getenv("PROMTOOL")
	if bin == "" {
		t.Skip("PROMTOOL is not set (make test builds promtool once and sets it)")
	}
	dir := filepath.Join("..", "..", "monitoring")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
	}
}
