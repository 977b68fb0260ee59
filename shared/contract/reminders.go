package contract

import "time"

// ReminderPass is what one pass of the reminder scheduler did: how many
// tasks it changed, reminders it fired (and of those, late), reminders it
// marked missed, and each fired reminder's lateness.
type ReminderPass struct {
	Tasks, Fired, Late, Missed int
	Lateness                   []time.Duration
}

// UpcomingReminder is a scheduled reminder and when it is due: what a
// trigger outside the process (a Dapr job) is set for.
type UpcomingReminder struct {
	TaskID, ReminderID string
	RemindAt           time.Time
}
