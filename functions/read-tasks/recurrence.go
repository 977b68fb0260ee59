package function

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/recurrence"
	"github.com/todoevents/todo/shared/task"
)

// Preview limits.
const (
	DefaultPreview = 5
	MaxPreview     = 100
)

// previewRequest is a series as a task would have it, and how many of its
// next due dates to show.
type previewRequest struct {
	RecurringType    *string     `json:"recurring_type"`
	RecurrenceRule   *string     `json:"recurrence_rule"`
	RecurrenceBasis  *task.Basis `json:"recurrence_basis"`
	DueDate          *string     `json:"due_date"`
	Timezone         *string     `json:"timezone"`
	RecurringEndDate *string     `json:"recurring_end_date"`
	Limit            *int        `json:"limit"`
}

// Preview is the answer of both previews: the due dates that would follow,
// in order, if each is completed on time, and the series in words.
type Preview struct {
	DueDates       []time.Time `json:"due_dates"`
	RecurringType  string      `json:"recurring_type"`
	RecurrenceRule *string     `json:"recurrence_rule"`
	Text           string      `json:"text"`
}

// preview answers POST /api/{user_id}/recurrence/preview: the series the
// body describes (validated exactly as a task's fields are, errors naming
// the field), from its due date (or now, without one).
func (h Handler) preview(w http.ResponseWriter, r *http.Request) error {
	user, err := h.Guard.User(r)
	if err != nil {
		return err
	}
	var req previewRequest
	if _, err := httpx.DecodeJSON(r, &req, false); err != nil {
		return err
	}
	limit := DefaultPreview
	if req.Limit != nil {
		if limit = *req.Limit; limit < 1 || limit > MaxPreview {
			return apperr.Field("limit", "must be 1 to %d", MaxPreview)
		}
	}
	title := "preview"
	t, err := task.Draft{Title: &title, RecurringType: req.RecurringType, RecurrenceRule: req.RecurrenceRule,
		RecurrenceBasis: req.RecurrenceBasis, DueDate: req.DueDate, Timezone: req.Timezone,
		RecurringEndDate: req.RecurringEndDate}.Build(uuid.NewString(), user, h.now())
	if err != nil {
		return err
	}
	if !t.Recurs() {
		return apperr.Field("recurring_type", "or recurrence_rule is needed: a series to preview")
	}
	p, err := previewOf(t, limit, h.now())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

// occurrences answers GET /api/{user_id}/tasks/{id}/occurrences?limit=N:
// the due dates that follow the task in its series, from its own slot (and
// what COUNT has left).
func (h Handler) occurrences(w http.ResponseWriter, r *http.Request) error {
	user, id, err := h.Guard.Task(r)
	if err != nil {
		return err
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return apperr.New(apperr.Invalid, "malformed query string")
	}
	limit := DefaultPreview
	for name := range q {
		if name != "limit" {
			return apperr.Field(name, "unknown query parameter (known: limit)")
		}
		if limit, err = strconv.Atoi(q.Get(name)); err != nil || limit < 1 || limit > MaxPreview {
			return apperr.Field("limit", "must be 1 to %d", MaxPreview)
		}
	}
	t, err := h.Tasks.GetTask(r.Context(), user, id)
	if err != nil {
		return err
	}
	p, err := previewOf(t, limit, h.now())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

// previewOf is the preview of t's series from t.
func previewOf(t task.Task, limit int, now time.Time) (Preview, error) {
	p := Preview{DueDates: []time.Time{}, RecurringType: string(t.RecurringType), RecurrenceRule: t.RecurrenceRule}
	if !t.Recurs() {
		p.Text = "does not repeat"
		return p, nil
	}
	rule, err := t.Rule()
	if err != nil {
		return Preview{}, err
	}
	due := now
	if t.DueDate != nil {
		due = *t.DueDate
	}
	if rule.Anchor.IsZero() {
		rule.Anchor = due
	}
	n := 0
	if t.Occurrence != nil {
		n = *t.Occurrence
	}
	for _, o := range rule.Preview(due, n, limit) {
		p.DueDates = append(p.DueDates, o.At.UTC())
	}
	if rule.RRule != nil {
		p.Text = rule.RRule.Text()
	} else {
		p.Text = recurrence.RRule{Freq: rule.Frequency, Interval: 1}.Text()
	}
	return p, nil
}
