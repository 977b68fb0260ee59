package kafka

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
)

// Topic settings that keep an acknowledged record through the loss of a
// broker: with acks=all (see Config) a write is acknowledged once every
// in-sync replica has it, so on three brokers it needs two copies, and no
// replica that missed writes may become leader.
const (
	configMinInsync = "min.insync.replicas"
	configUnclean   = "unclean.leader.election.enable"
)

// TopicPlan is how a topic should be made on a cluster of some size.
type TopicPlan struct {
	ReplicationFactor int16
	Configs           map[string]string // topic-level settings, beside the broker defaults
}

// PlanTopic returns the settings for a topic on a cluster of brokers
// brokers: replication factor min(3, brokers); at three replicas
// min.insync.replicas=2 (one broker may be lost without refusing writes or
// losing acknowledged ones); and, with more than one replica, no unclean
// leader election. A single broker keeps one copy and no settings (there is
// no other replica to elect).
func PlanTopic(brokers int) TopicPlan {
	rf := int16(min(3, max(brokers, 1)))
	p := TopicPlan{ReplicationFactor: rf, Configs: map[string]string{}}
	if rf > 1 {
		p.Configs[configUnclean] = "false"
	}
	if rf >= 3 {
		p.Configs[configMinInsync] = "2"
	}
	return p
}

// EnsureTopics creates topics that do not exist yet, with partitions
// partitions each and the replication and settings PlanTopic gives for the
// brokers the cluster has. Existing topics are left as they are, but
// checked: a replication factor or a setting weaker than the plan is
// logged on log at error level, once per topic and call, with what to run.
func EnsureTopics(log zerolog.Logger, brokers []string, partitions int32, topics ...string) error {
	admin, err := sarama.NewClusterAdmin(brokers, Config("topic-setup"))
	if err != nil {
		return fmt.Errorf("kafka admin: %w", err)
	}
	defer admin.Close()
	members, _, err := admin.DescribeCluster()
	if err != nil {
		return fmt.Errorf("kafka describe cluster: %w", err)
	}
	plan := PlanTopic(len(members))
	entries := make(map[string]*string, len(plan.Configs))
	for k, v := range plan.Configs {
		entries[k] = &v
	}
	for _, topic := range topics {
		detail := &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: plan.ReplicationFactor, ConfigEntries: entries}
		err := admin.CreateTopic(topic, detail, false)
		if len(entries) > 0 && isTopicError(err, sarama.ErrInvalidConfig) {
			// A Kafka-API broker without these settings (Redpanda replicates
			// with Raft: acks=all waits for a majority, and there is no
			// unclean election) gets the replication factor alone.
			log.Warn().Err(err).Str("topic", topic).Msg("the broker refuses min.insync.replicas / unclean.leader.election.enable; " +
				"creating the topic with its replication factor only")
			detail.ConfigEntries = nil
			err = admin.CreateTopic(topic, detail, false)
		}
		switch {
		case err == nil:
			continue
		case isTopicError(err, sarama.ErrTopicAlreadyExists):
			problems, err := checkTopic(admin, topic, plan)
			if err != nil {
				return fmt.Errorf("check topic %s: %w", topic, err)
			}
			for _, p := range problems {
				log.Error().Str("topic", topic).Int("brokers", len(members)).Str("problem", p).
					Msg("Kafka topic is weaker than this cluster allows: a broker's loss can lose acknowledged events; " +
						"fix it with kafka-topics.sh / kafka-configs.sh --alter (or rpk topic alter-config) as docs/scaling.md says")
			}
		default:
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	return nil
}

// isTopicError reports whether err is the broker's answer code.
func isTopicError(err error, code sarama.KError) bool {
	var terr *sarama.TopicError
	return (errors.As(err, &terr) && terr.Err == code) || errors.Is(err, code)
}

// checkTopic compares an existing topic with plan and describes each way
// it falls short.
func checkTopic(admin sarama.ClusterAdmin, topic string, plan TopicPlan) ([]string, error) {
	meta, err := admin.DescribeTopics([]string{topic})
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, m := range meta {
		if m.Err != sarama.ErrNoError {
			return nil, m.Err
		}
		for _, p := range m.Partitions {
			if n := len(p.Replicas); n < int(plan.ReplicationFactor) {
				problems = append(problems, fmt.Sprintf("partition %d has %d replicas, want %d", p.ID, n, plan.ReplicationFactor))
				break
			}
		}
	}
	if len(plan.Configs) == 0 {
		return problems, nil
	}
	names := make([]string, 0, len(plan.Configs))
	for k := range plan.Configs {
		names = append(names, k)
	}
	got, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic, ConfigNames: names})
	if err != nil {
		return nil, err
	}
	// A setting the broker does not report (it has no such thing) is not
	// checked; one it reports must be as strong as the plan.
	for _, e := range got {
		switch want := plan.Configs[e.Name]; e.Name {
		case configMinInsync:
			if n, err := strconv.Atoi(e.Value); err != nil || n < 2 {
				problems = append(problems, fmt.Sprintf("%s is %q, want %s", e.Name, e.Value, want))
			}
		case configUnclean:
			if e.Value != want {
				problems = append(problems, fmt.Sprintf("%s is %q, want %s", e.Name, e.Value, want))
			}
		}
	}
	return problems, nil
}
