package events

import (
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/task"
)

// TypeTaskReminder is the type of the event a reminder fires, on
// TopicReminders.
const TypeTaskReminder = "com.todo.task.reminder"

// ReminderData is the data of a reminder event: the plan's reminder event
// (task_id, title, due_at, remind_at, user_id), which reminder of the task
// it is, and whether it fired late (more than task.LateAfter after its
// time, having come due while nothing ran).
type ReminderData struct {
	TaskID     string     `json:"task_id"`
	UserID     string     `json:"user_id"`
	Title      string     `json:"title"`
	DueAt      *time.Time `json:"due_at"`
	RemindAt   time.Time  `json:"remind_at"`
	ReminderID string     `json:"reminder_id"`
	Late       bool       `json:"late"`
}

// reminderIDs names reminder events: one id per reminder and time, so a
// consumer can tell a redelivery from another reminder.
var reminderIDs = uuid.MustParse("6f1a7c52-3d1e-4a8b-9c0d-2e5f7a9b1c3d")

// ForReminder builds the event of reminder f of t, fired by source at now.
func ForReminder(source string, t task.Task, f task.Fired, now time.Time) (cloudevents.Event, error) {
	e := cloudevents.NewEvent()
	e.SetID(uuid.NewSHA1(reminderIDs, []byte(t.ID+"/"+f.Reminder.ID+"/"+f.Reminder.RemindAt.UTC().Format(time.RFC3339Nano))).String())
	e.SetType(TypeTaskReminder)
	e.SetSource("/functions/" + source)
	e.SetSubject(t.ID)
	e.SetTime(now)
	e.SetExtension(ExtPartitionKey, t.UserID)
	data := ReminderData{TaskID: t.ID, UserID: t.UserID, Title: t.Title, DueAt: t.DueDate, RemindAt: f.Reminder.RemindAt,
		ReminderID: f.Reminder.ID, Late: f.Late}
	if err := e.SetData(cloudevents.ApplicationJSON, data); err != nil {
		return e, apperr.Wrap(apperr.Invalid, err, "the reminder cannot be encoded as an event")
	}
	return e, nil
}
