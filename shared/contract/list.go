package contract

import (
	"strconv"
	"time"

	"github.com/todoevents/todo/shared/task"
)

// StatusFilter selects tasks by completion.
type StatusFilter string

// Filters: all; open (pending or in progress: the frontends' "pending");
// in progress; done; skipped; overdue (open, due before now).
const (
	FilterAll        StatusFilter = "all"
	FilterOpen       StatusFilter = "open"
	FilterInProgress StatusFilter = "in_progress"
	FilterDone       StatusFilter = "done"
	FilterSkipped    StatusFilter = "skipped"
	FilterOverdue    StatusFilter = "overdue"
)

// Sort keys of a task list.
const (
	SortCreated  = "created_at"
	SortUpdated  = "updated_at"
	SortDue      = "due_date"
	SortPriority = "priority"
	SortTitle    = "title"
)

// ListQuery selects, orders and pages a user's tasks. Empty fields do not
// filter; all Tags must be on a task; Search matches words (full-text) or
// parts of words in the title and description.
type ListQuery struct {
	Status   StatusFilter
	Priority task.Priority
	Tags     []string
	Search   string
	// Due dates strictly before / after; nil does not filter.
	DueBefore, DueAfter *time.Time
	// Overdue (not done, due before Now) and Recurring select the tasks
	// that are (true) or are not (false); nil does not filter.
	Overdue, Recurring *bool
	// ParentTaskID selects the next occurrence of that task.
	ParentTaskID string
	// Archived lists the archived tasks (closed longer than ARCHIVE_AFTER
	// ago) instead of the others.
	Archived bool
	Sort     string // a Sort key; empty means created_at
	Desc     bool
	Limit    int
	// A page starts Offset tasks in, or right after the task After names
	// (keyset paging; After's sort must be the query's).
	Offset int
	After  *Cursor
	Now    time.Time // for overdue
}

// Cursor is a position in a sorted list: the sort key of a task (nil for
// a missing due date) and its id. Key is the sort column as text: a
// timestamp in RFC 3339, a priority rank, or a title.
type Cursor struct {
	Key *string
	ID  string
}

// CursorOf is the position of t in a list sorted by key sort.
func CursorOf(t task.Task, sort string) Cursor {
	var key string
	switch sort {
	case SortDue:
		if t.DueDate == nil {
			return Cursor{ID: t.ID}
		}
		key = t.DueDate.UTC().Format(time.RFC3339Nano)
	case SortUpdated:
		key = t.UpdatedAt.UTC().Format(time.RFC3339Nano)
	case SortPriority:
		key = strconv.Itoa(PriorityRank(t.Priority))
	case SortTitle:
		key = t.Title
	default:
		key = t.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
	return Cursor{Key: &key, ID: t.ID}
}

// PriorityRank orders priorities: low 0, medium 1, high 2.
func PriorityRank(p task.Priority) int {
	switch p {
	case task.PriorityLow:
		return 0
	case task.PriorityMedium:
		return 1
	}
	return 2
}

// KeyValue converts a cursor key back to the sort column's type; an
// error means the key is not one sort could have produced.
func KeyValue(sort, key string) (any, error) {
	switch sort {
	case SortTitle:
		return key, nil
	case SortPriority:
		n, err := strconv.Atoi(key)
		if err != nil || n < 0 || n > 2 {
			return nil, strconv.ErrSyntax
		}
		return n, nil
	}
	return time.Parse(time.RFC3339Nano, key)
}
