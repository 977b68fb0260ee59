package kafka_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/todoevents/todo/shared/kafka"
)

func TestPlanTopicFitsTheCluster(t *testing.T) {
	for _, tc := range []struct {
		brokers int
		rf      int16
		configs map[string]string
	}{
		{0, 1, map[string]string{}},
		{1, 1, map[string]string{}},
		{2, 2, map[string]string{"unclean.leader.election.enable": "false"}},
		{3, 3, map[string]string{"unclean.leader.election.enable": "false", "min.insync.replicas": "2"}},
		{7, 3, map[string]string{"unclean.leader.election.enable": "false", "min.insync.replicas": "2"}},
	} {
		p := kafka.PlanTopic(tc.brokers)
		if p.ReplicationFactor != tc.rf || len(p.Configs) != len(tc.configs) {
			t.Errorf("PlanTopic(%d) = %+v, want replication %d and %v", tc.brokers, p, tc.rf, tc.configs)
		}
		for k, v := range tc.configs {
			if p.Configs[k] != v {
				t.Errorf("PlanTopic(%d) %s = %q, want %q", tc.brokers, k, p.Configs[k], v)
			}
		}
	}
}

// An existing topic weaker than the cluster allows is kept, and logged at
// error level with what is wrong.
func TestEnsureTopicsReportsAWeakExistingTopic(t *testing.T) {
	b, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(2, "weak"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var logs bytes.Buffer
	if err := kafka.EnsureTopics(zerolog.New(&logs), b.ListenAddrs(), 2, "weak"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"level":"error"`) || !strings.Contains(logs.String(), "min.insync.replicas") {
		t.Fatalf("a topic with min.insync.replicas=1 on three brokers was not reported:\n%s", logs.String())
	}
}

func TestEnsureTopicsCreatesOnASingleBroker(t *testing.T) {
	b, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var logs bytes.Buffer
	if err := kafka.EnsureTopics(zerolog.New(&logs), b.ListenAddrs(), 4, "fresh"); err != nil {
		t.Fatal(err)
	}
	if err := kafka.EnsureTopics(zerolog.New(&logs), b.ListenAddrs(), 4, "fresh"); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Fatalf("a topic as planned was reported: %s", logs.String())
	}
	admin, err := sarama.NewClusterAdmin(b.ListenAddrs(), kafka.Config("check"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	meta, err := admin.DescribeTopics([]string{"fresh"})
	if err != nil || len(meta) != 1 || len(meta[0].Partitions) != 4 || len(meta[0].Partitions[0].Replicas) != 1 {
		t.Fatalf("fresh topic: %+v, %v; want 4 partitions of one replica", meta, err)
	}
}

// A broker that refuses the topic settings (INVALID_CONFIG, as a broker
// without them answers) gets the topic with its replication factor alone.
func TestEnsureTopicsFallsBackWhenTheBrokerRefusesTheSettings(t *testing.T) {
	b, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.ControlKey(int16(kmsg.CreateTopics), func(req kmsg.Request) (kmsg.Response, error, bool) {
		b.KeepControl()
		create := req.(*kmsg.CreateTopicsRequest)
		if len(create.Topics) != 1 || len(create.Topics[0].Configs) == 0 {
			return nil, nil, false
		}
		resp := create.ResponseKind().(*kmsg.CreateTopicsResponse)
		topic := kmsg.NewCreateTopicsResponseTopic()
		topic.Topic, topic.ErrorCode = create.Topics[0].Topic, kerr.InvalidConfig.Code
		resp.Topics = append(resp.Topics, topic)
		return resp, nil, true
	})
	var logs bytes.Buffer
	if err := kafka.EnsureTopics(zerolog.New(&logs), b.ListenAddrs(), 2, "raft"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "replication factor only") {
		t.Fatalf("the fallback was not logged:\n%s", logs.String())
	}
	admin, err := sarama.NewClusterAdmin(b.ListenAddrs(), kafka.Config("check"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	meta, err := admin.DescribeTopics([]string{"raft"})
	if err != nil || len(meta) != 1 || len(meta[0].Partitions) != 2 || len(meta[0].Partitions[0].Replicas) != 3 {
		t.Fatalf("topic: %+v, %v; want 2 partitions of three replicas", meta, err)
	}
}
