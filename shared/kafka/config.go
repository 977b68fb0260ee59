// Package kafka is the Kafka adapter: a CloudEvents publisher over
// kafka_sarama (structured mode, key = partitionkey), an in-order
// consumer-group runner over franz-go (cooperative-sticky rebalancing, a
// worker per partition) that marks offsets only after the work committed,
// and topic set-up fit for the cluster's size.
package kafka

import (
	"time"

	"github.com/IBM/sarama"
)

// Config returns the sarama configuration every producer uses: idempotent,
// waiting for all in-sync replicas (with min.insync.replicas=2 on three
// brokers, see PlanTopic), one request in flight per broker so a retry
// never reorders a partition. Its consumer settings (oldest offset first,
// commit only what was marked) serve the tools and tests that read with
// sarama; the functions' group consumer is Consumer.
func Config(clientID string) *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = clientID
	c.Version = sarama.V2_8_0_0
	c.Net.DialTimeout = 5 * time.Second
	c.Net.ReadTimeout = 10 * time.Second
	c.Net.WriteTimeout = 10 * time.Second

	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Net.MaxOpenRequests = 1
	// A partition's leader that dies is replaced within seconds (a broker's
	// session timeout): retry through that, in order, for about 40 s. A
	// producer that gives up on a record sooner can let the next record of
	// the same partition through on the new leader, which puts a user's
	// later event on the topic before the earlier one it sends again.
	c.Producer.Retry.Max = producerRetries
	c.Producer.Retry.BackoffFunc = producerBackoff
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Partitioner = sarama.NewHashPartitioner

	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.AutoCommit.Enable = true
	c.Consumer.Offsets.AutoCommit.Interval = time.Second
	c.Consumer.Return.Errors = true
	c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRoundRobin()}
	return c
}

// producerRetries and producerBackoff retry a record for about 40 s:
// 100 ms, doubling, at most 1 s apart.
const producerRetries = 44

func producerBackoff(retries, _ int) time.Duration {
	return min(100*time.Millisecond<<min(retries, 4), time.Second)
}
