package allinone

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/todoevents/todo/shared/events"
)

// startBroker starts the in-process broker with the task topics. With a
// data directory its log is kept in dataDir/kafka across runs; a log that
// cannot be loaded (after a crash) is moved aside and a new one started:
// the reconciler re-drives completions whose events were lost with it.
// The returned note says so.
func startBroker(dataDir string, partitions int32) (b *kfake.Cluster, note string, err error) {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, events.Topics...)}
	if dataDir == "" {
		b, err = kfake.NewCluster(opts...)
		return b, "", err
	}
	dir := filepath.Join(dataDir, "kafka")
	if b, err = kfake.NewCluster(append(opts, kfake.DataDir(dir))...); err == nil {
		return b, "", nil
	}
	aside := fmt.Sprintf("%s.unreadable-%s", dir, time.Now().UTC().Format("20060102T150405"))
	if mvErr := os.Rename(dir, aside); mvErr != nil {
		return nil, "", fmt.Errorf("%w (and moving it aside failed: %v)", err, mvErr)
	}
	note = fmt.Sprintf("the broker log in %s could not be loaded (%v); moved to %s and started empty", dir, err, aside)
	b, err = kfake.NewCluster(append(opts, kfake.DataDir(dir))...)
	return b, note, err
}
