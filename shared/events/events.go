// Package events defines the CloudEvents the functions exchange: types,
// topics and the versioned data payload of task events.
package events

import (
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/task"
)

// Event types (reverse-DNS).
const (
	TypeTaskCreated   = "com.todo.task.created"
	TypeTaskCompleted = "com.todo.task.completed"
	TypeTaskUpdated   = "com.todo.task.updated"
	TypeTaskDeleted   = "com.todo.task.deleted"
	TypeTaskSkipped   = "com.todo.task.skipped"
)

// Topics and extension names.
const (
	TopicTaskEvents   = "task-events"
	TopicDeadLetters  = "task-events-dlq"
	TopicReminders    = "reminders"
	ExtPartitionKey   = "partitionkey"
	DataSchemaVersion = 2
)

// TopicOf is the topic an event goes to: dead letters to the dead-letter
// topic, reminders to reminders, every other event to task-events.
func TopicOf(e cloudevents.Event) string {
	switch e.Type() {
	case TypeDeadLettered:
		return TopicDeadLetters
	case TypeTaskReminder:
		return TopicReminders
	}
	return TopicTaskEvents
}

// Topics are every topic the functions write.
var Topics = []string{TopicTaskEvents, TopicDeadLetters, TopicReminders}

// kindOf maps event types to the seed's event_type names.
var kindOf = map[string]string{
	TypeTaskCreated:   "task-created",
	TypeTaskCompleted: "task-completed",
	TypeTaskUpdated:   "task-updated",
	TypeTaskDeleted:   "task-deleted",
	TypeTaskSkipped:   "task-skipped",
}

// TaskData is the data of every task event. Its first fields are the seed's
// task-completed payload, field for field; the rest lets a consumer copy the
// task. Changes are additive only; SchemaVersion counts them (2 added
// recurrence_rule, occurrence and skipped_at).
type TaskData struct {
	EventType        string     `json:"event_type"`
	TaskID           string     `json:"task_id"`
	UserID           string     `json:"user_id"`
	Title            string     `json:"title"`
	RecurringType    string     `json:"recurring_type"`
	RecurringEndDate *time.Time `json:"recurring_end_date"`
	CompletedAt      *time.Time `json:"completed_at"`

	SchemaVersion   int        `json:"schema_version"`
	Description     string     `json:"description"`
	Status          string     `json:"status"`
	Priority        string     `json:"priority"`
	Tags            []string   `json:"tags"`
	DueDate         *time.Time `json:"due_date"`
	Timezone        string     `json:"timezone"`
	RecurrenceBasis string     `json:"recurrence_basis"`
	SeriesAnchor    *time.Time `json:"series_anchor"`
	ParentTaskID    *string    `json:"parent_task_id"`
	RecurrenceRule  *string    `json:"recurrence_rule"`
	Occurrence      *int       `json:"occurrence"`
	SkippedAt       *time.Time `json:"skipped_at"`
}

// DataOf returns the payload describing t for an event of type eventType.
func DataOf(eventType string, t task.Task) TaskData {
	return TaskData{
		EventType: kindOf[eventType], TaskID: t.ID, UserID: t.UserID, Title: t.Title,
		RecurringType: string(t.RecurringType), RecurringEndDate: t.RecurringEndDate,
		CompletedAt: t.CompletedAt, SchemaVersion: DataSchemaVersion,
		Description: t.Description, Status: string(t.Status), Priority: string(t.Priority),
		Tags: t.Tags, DueDate: t.DueDate, Timezone: t.Timezone,
		RecurrenceBasis: string(t.RecurrenceBasis), SeriesAnchor: t.SeriesAnchor,
		ParentTaskID: t.ParentTaskID, RecurrenceRule: t.RecurrenceRule, Occurrence: t.Occurrence,
		SkippedAt: t.SkippedAt,
	}
}

// ForTask builds the CloudEvent of type eventType about t, emitted by the
// function named source at now. Its id is fixed here, so every retry of the
// event carries the same id.
func ForTask(eventType, source string, t task.Task, now time.Time) (cloudevents.Event, error) {
	e := cloudevents.NewEvent()
	e.SetID(uuid.NewString())
	e.SetType(eventType)
	e.SetSource("/functions/" + source)
	e.SetSubject(t.ID)
	e.SetTime(now)
	e.SetExtension(ExtPartitionKey, t.UserID)
	if err := e.SetData(cloudevents.ApplicationJSON, DataOf(eventType, t)); err != nil {
		// Permanent: the same task fails the same way every time.
		return e, apperr.Wrap(apperr.Invalid, err, "the task cannot be encoded as an event")
	}
	return e, nil
}
