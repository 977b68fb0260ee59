package dapr

import "github.com/todoevents/todo/shared/events"

// Route is recur-task's route for completion events delivered by Dapr.
const Route = "/api/events/task-completed"

// Subscription is one entry of the programmatic subscription an app serves
// on GET /dapr/subscribe (Dapr's v2 format, with routing rules).
type Subscription struct {
	PubSubName      string `json:"pubsubname"`
	Topic           string `json:"topic"`
	Routes          Routes `json:"routes"`
	DeadLetterTopic string `json:"deadLetterTopic,omitempty"`
}

// Routes are a subscription's routing rules; events no rule matches are
// not delivered to the app.
type Routes struct {
	Rules []Rule `json:"rules"`
}

// Rule routes events matching a CEL expression to a path.
type Rule struct {
	Match string `json:"match"`
	Path  string `json:"path"`
}

// CompletedSubscription delivers com.todo.task.completed and
// com.todo.task.skipped events on task-events of pubsub to Route; what can
// never be delivered goes to the dead-letter topic.
func CompletedSubscription(pubsub string) Subscription {
	return Subscription{PubSubName: pubsub, Topic: events.TopicTaskEvents, DeadLetterTopic: events.TopicDeadLetters,
		Routes: Routes{Rules: []Rule{{Match: `event.type == "` + events.TypeTaskCompleted + `"`, Path: Route},
			{Match: `event.type == "` + events.TypeTaskSkipped + `"`, Path: Route}}}}
}
