package function

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/task"
)

func (h Handler) list(w http.ResponseWriter, r *http.Request) error {
	user, err := h.Guard.User(r)
	if err != nil {
		return err
	}
	q, err := parseList(r.URL.RawQuery, h.now())
	if err != nil {
		return err
	}
	// Ask for one task more than the page holds: whether it comes back
	// says whether a next page exists.
	page := q.Limit
	withNext := q
	withNext.Limit = page + 1
	tasks, total, err := h.Tasks.ListTasks(r.Context(), user, withNext)
	if err != nil {
		return err
	}
	answer := List{Tasks: tasks, Total: total}
	if len(tasks) > page {
		answer.Tasks = tasks[:page]
		next := encodeCursor(contract.CursorOf(answer.Tasks[page-1], q.Sort), q)
		answer.NextCursor = &next
		w.Header().Set("X-Next-Cursor", next)
		w.Header().Set("Link", `<`+nextURL(r.URL, next)+`>; rel="next"`)
	}
	if answer.Tasks == nil {
		answer.Tasks = []task.Task{}
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	httpx.WriteJSON(w, http.StatusOK, answer)
	return nil
}

// List is one page of a task list: its tasks, how many match in all, and
// the cursor of the next page (null on the last).
type List struct {
	Tasks      []task.Task `json:"tasks"`
	Total      int         `json:"total"`
	NextCursor *string     `json:"next_cursor"`
}

func (h Handler) get(w http.ResponseWriter, r *http.Request) error {
	user, id, err := h.Guard.Task(r)
	if err != nil {
		return err
	}
	t, err := h.Tasks.GetTask(r.Context(), user, id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", t.ETag()) // for If-Match on PUT, PATCH and DELETE
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}

// chain lists a page of the series a task belongs to, oldest first (an
// array, as before pages), and where the next page is: X-Next-Cursor and
// a Link header, as the list has.
func (h Handler) chain(w http.ResponseWriter, r *http.Request) error {
	user, id, err := h.Guard.Task(r)
	if err != nil {
		return err
	}
	q, err := parseChain(r.URL.RawQuery)
	if err != nil {
		return err
	}
	page, err := h.Tasks.Chain(r.Context(), user, id, q)
	if err != nil {
		return err
	}
	if page.Next != nil {
		next := encodeChainCursor(*page.Next)
		w.Header().Set("X-Next-Cursor", next)
		w.Header().Set("Link", `<`+nextURL(r.URL, next)+`>; rel="next"`)
	}
	httpx.WriteJSON(w, http.StatusOK, page.Tasks)
	return nil
}

// tags lists the user's tags with how many tasks carry each, most used
// first: ?q= keeps those that start with it (any letter case), ?limit= at
// most that many (a tag picker's autocomplete).
func (h Handler) tags(w http.ResponseWriter, r *http.Request) error {
	user, err := h.Guard.User(r)
	if err != nil {
		return err
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return apperr.New(apperr.Invalid, "malformed query string")
	}
	var tq contract.TagQuery
	for name, values := range q {
		switch v := values[len(values)-1]; name {
		case "q":
			if utf8.RuneCountInString(v) > task.MaxTagLen {
				return apperr.Field("q", "must be at most %d characters", task.MaxTagLen)
			}
			tq.Prefix = strings.TrimSpace(v)
		case "limit":
			if tq.Limit, err = strconv.Atoi(v); err != nil || tq.Limit < 1 || tq.Limit > MaxLimit {
				return apperr.Field("limit", "must be 1 to %d", MaxLimit)
			}
		default:
			return apperr.Field(name, "unknown query parameter (known: q, limit)")
		}
	}
	tags, err := h.Tasks.Tags(r.Context(), user, tq)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, tags)
	return nil
}

// stats counts the user's tasks: by status, overdue, due today and
// completed this week, days and weeks (from Monday) in ?timezone= (an
// IANA name, UTC by default).
func (h Handler) stats(w http.ResponseWriter, r *http.Request) error {
	user, err := h.Guard.User(r)
	if err != nil {
		return err
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return apperr.New(apperr.Invalid, "malformed query string")
	}
	loc := time.UTC
	for name := range q {
		if name != "timezone" {
			return apperr.Field(name, "unknown query parameter (known: timezone)")
		}
		if loc, err = task.ValidLocation(q.Get(name)); err != nil {
			return apperr.Field("timezone", "must be an IANA time zone such as Europe/Paris")
		}
	}
	st, err := h.Tasks.Stats(r.Context(), user, contract.CalendarAt(h.now(), loc))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, st)
	return nil
}
