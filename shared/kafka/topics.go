package kafka

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// EnsureTopics creates topics that do not exist yet, with partitions
// partitions each. Existing topics are left as they are.
func EnsureTopics(brokers []string, partitions int32, topics ...string) error {
	admin, err := sarama.NewClusterAdmin(brokers, Config("topic-setup"))
	if err != nil {
		return fmt.Errorf("kafka admin: %w", err)
	}
	defer admin.Close()
	for _, topic := range topics {
		err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false)
		var terr *sarama.TopicError
		if err != nil && !(errors.As(err, &terr) && terr.Err == sarama.ErrTopicAlreadyExists) &&
			!errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	return nil
}
