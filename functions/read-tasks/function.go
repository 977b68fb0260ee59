// Package function is the read-tasks function: GET /api/{user_id}/tasks
// lists the user's tasks (filtered, sorted, paged), GET
// /api/{user_id}/tasks/{id} returns one, …/{id}/chain its series, GET
// /api/{user_id}/tasks/stats counts them, and GET /api/{user_id}/tags
// lists the user's tags with their counts.
package function

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/openapi"
	"github.com/todoevents/todo/shared/task"
)

// Name is the function's name.
const Name = "read-tasks"

// List limits.
const (
	DefaultLimit = 100
	MaxLimit     = 100
)

// Tasks reads a user's tasks; another user's task is not found.
type Tasks interface {
	GetTask(ctx context.Context, userID, id string) (task.Task, error)
	ListTasks(ctx context.Context, userID string, q contract.ListQuery) ([]task.Task, int, error)
	Chain(ctx context.Context, userID, id string) ([]task.Task, error)
	Tags(ctx context.Context, userID string, q contract.TagQuery) ([]contract.TagCount, error)
	Stats(ctx context.Context, userID string, c contract.Calendar) (contract.Stats, error)
}

// Function serves read-tasks.
type Function struct{ app.Function }

// New returns an unstarted function (Start connects it). It only reads, so
// it runs no outbox relay.
func New() *Function {
	return &Function{app.NewFunction(Name, config.Needs{Auth: true}, func(rt *app.Runtime) []httpx.Route {
		return Handler{Tasks: rt.Store, Guard: rt.Guard}.Routes()
	})}
}

// Handler reads tasks.
type Handler struct {
	Tasks Tasks
	Guard httpx.Guard
	// Now is the clock for "overdue"; nil means app.Now.
	Now func() time.Time
}

func (h Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return app.Now()
}

// Routes are the function's API.
func (h Handler) Routes() []httpx.Route {
	return []httpx.Route{
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks", Handler: h.list},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks/{id}", Handler: h.get},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks/{id}/chain", Handler: h.chain},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks/stats", Handler: h.stats},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tags", Handler: h.tags},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks/{id}/occurrences", Handler: h.occurrences},
		{Method: http.MethodPost, Pattern: "/api/{user_id}/recurrence/preview", Handler: h.preview},
		openapi.Route(), // the contract of the whole API, from the function that reads
	}
}

// Cursors are opaque to clients: base64url of the last task's sort key
// and id, and a digest of the filters and order they were made for.
type cursorJSON struct {
	Key   *string `json:"k"`
	ID    string  `json:"i"`
	Query string  `json:"q"`
}

// queryDigest identifies q's filters and order (not its page).
func queryDigest(q contract.ListQuery) string {
	tags := slices.Sorted(slices.Values(q.Tags))
	var due [2]string
	for i, d := range []*time.Time{q.DueBefore, q.DueAfter} {
		if d != nil {
			due[i] = d.UTC().Format(time.RFC3339Nano)
		}
	}
	flag := func(b *bool) string {
		if b == nil {
			return ""
		}
		return strconv.FormatBool(*b)
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{string(q.Status), string(q.Priority), strings.Join(tags, ","),
		q.Search, due[0], due[1], flag(q.Overdue), flag(q.Recurring), q.ParentTaskID, q.Sort,
		strconv.FormatBool(q.Desc)}, "\x00")))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

func encodeCursor(c contract.Cursor, q contract.ListQuery) string {
	b, _ := json.Marshal(cursorJSON{Key: c.Key, ID: c.ID, Query: queryDigest(q)}) // plain strings: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor made for q's filters and order.
func decodeCursor(s string, q contract.ListQuery) (*contract.Cursor, error) {
	var c cursorJSON
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err == nil && c.Key != nil {
		_, err = contract.KeyValue(q.Sort, *c.Key)
	}
	if err != nil || !task.IsUUID(c.ID) {
		return nil, apperr.Field("cursor", "is not a cursor this API made (use X-Next-Cursor or the Link header as given)")
	}
	if c.Query != queryDigest(q) {
		return nil, apperr.Field("cursor", "was made for other filters or another order: repeat them with it")
	}
	return &contract.Cursor{Key: c.Key, ID: strings.ToLower(c.ID)}, nil
}

// nextURL is u with its page replaced by cursor.
func nextURL(u *url.URL, cursor string) string {
	q := u.Query()
	q.Del("offset")
	q.Del("skip")
	q.Set("cursor", cursor)
	return u.EscapedPath() + "?" + q.Encode()
}

// filters maps ?status= values (any letter case, spaces around ignored)
// to store filters: every spelling create and update accept for a status
// ("todo", "in-progress", "complete", …), and all and overdue. "pending"
// is what the frontends mean by it: not completed (pending or in
// progress).
var filters = map[string]contract.StatusFilter{
	"": contract.FilterAll, "all": contract.FilterAll,
	"pending": contract.FilterOpen, "open": contract.FilterOpen, "todo": contract.FilterOpen,
	"in_progress": contract.FilterInProgress, "in-progress": contract.FilterInProgress, "inprogress": contract.FilterInProgress,
	"completed": contract.FilterDone, "complete": contract.FilterDone, "done": contract.FilterDone,
	"skipped": contract.FilterSkipped,
	"overdue": contract.FilterOverdue,
}

// sortKeys are the ?sort= / ?sort_by= values.
var sortKeys = map[string]string{
	"created_at": contract.SortCreated, "created": contract.SortCreated, "updated_at": contract.SortUpdated,
	"due_date": contract.SortDue, "due": contract.SortDue, "priority": contract.SortPriority, "title": contract.SortTitle,
}

// listParams are the list's query parameters; any other is an error,
// never silently ignored.
var listParams = []string{"status", "priority", "tag", "tags", "q", "search", "due_before", "due_after", "overdue",
	"recurring", "parent_task_id", "sort", "sort_by", "order", "sort_order", "limit", "offset", "skip", "cursor"}

// parseList reads the list's query string. Values are read in any letter
// case; tags repeat or are comma-separated (all must match).
func parseList(raw string, now time.Time) (contract.ListQuery, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return contract.ListQuery{}, apperr.New(apperr.Invalid, "malformed query string")
	}
	for name := range q {
		if !slices.Contains(listParams, name) {
			return contract.ListQuery{}, apperr.Field(name, "unknown query parameter (known: %s)", strings.Join(listParams, ", "))
		}
	}
	get := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(q.Get(n)); v != "" {
				return v
			}
		}
		return ""
	}
	lq := contract.ListQuery{Limit: DefaultLimit, Now: now, Search: get("q", "search"), Sort: contract.SortCreated, Desc: true}
	var ok bool
	if lq.Status, ok = filters[strings.ToLower(strings.TrimSpace(get("status")))]; !ok {
		return lq, apperr.Field("status", "must be one of all, pending (or todo, open), in_progress, completed (or done), skipped, overdue")
	}
	if p := strings.ToLower(get("priority")); p != "" {
		if lq.Priority = task.Priority(p); p != "low" && p != "medium" && p != "high" {
			return lq, apperr.Field("priority", "must be one of low, medium, high")
		}
	}
	for _, v := range append(q["tag"], q["tags"]...) {
		for _, tag := range strings.Split(v, ",") {
			if tag = strings.TrimSpace(tag); tag != "" {
				lq.Tags = append(lq.Tags, tag)
			}
		}
	}
	for name, dst := range map[string]**time.Time{"due_before": &lq.DueBefore, "due_after": &lq.DueAfter} {
		if v := get(name); v != "" {
			at, err := task.ParseTime(v, time.UTC, false)
			if err != nil {
				return lq, apperr.Field(name, "%v", err)
			}
			*dst = &at
		}
	}
	for name, dst := range map[string]**bool{"overdue": &lq.Overdue, "recurring": &lq.Recurring} {
		if v := get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return lq, apperr.Field(name, "must be true or false")
			}
			*dst = &b
		}
	}
	if lq.ParentTaskID = strings.ToLower(get("parent_task_id")); lq.ParentTaskID != "" && !task.IsUUID(lq.ParentTaskID) {
		return lq, apperr.Field("parent_task_id", "must be a UUID")
	}
	if s := strings.ToLower(get("sort", "sort_by")); s != "" {
		desc := strings.HasPrefix(s, "-")
		if lq.Sort, ok = sortKeys[strings.TrimPrefix(s, "-")]; !ok {
			return lq, apperr.Field("sort", "must be one of created_at, updated_at, due_date, priority, title (- for descending)")
		}
		lq.Desc = desc
	}
	switch strings.ToLower(get("order", "sort_order")) {
	case "":
	case "asc":
		lq.Desc = false
	case "desc":
		lq.Desc = true
	default:
		return lq, apperr.Field("order", "must be asc or desc")
	}
	if s := get("limit"); s != "" {
		if lq.Limit, err = strconv.Atoi(s); err != nil || lq.Limit < 1 || lq.Limit > MaxLimit {
			return lq, apperr.Field("limit", "must be a number from 1 to %d", MaxLimit)
		}
	}
	if s := get("offset", "skip"); s != "" {
		if lq.Offset, err = strconv.Atoi(s); err != nil || lq.Offset < 0 || lq.Offset > 1_000_000 {
			return lq, apperr.Field("offset", "must be a number from 0 to 1000000")
		}
	}
	if s := get("cursor"); s != "" {
		if get("offset", "skip") != "" {
			return lq, apperr.Field("cursor", "cannot be combined with offset or skip")
		}
		if lq.After, err = decodeCursor(s, lq); err != nil {
			return lq, err
		}
	}
	return lq, nil
}

func (h Handler) list(w http.ResponseWriter, r *http.Request) error {
	user, err := h.Guard.User(r)
	if err != nil {
		return err
	}
	q, err := parseList(r.URL.RawQuery, h.now())
	if err != nil {
		return err
	}
	page := q.Limit
	q.Limit = page + 1 // one more than the page tells whether a next page exists
	tasks, total, err := h.Tasks.ListTasks(r.Context(), user, q)
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

// chain lists the series a task belongs to, oldest first.
func (h Handler) chain(w http.ResponseWriter, r *http.Request) error {
	user, id, err := h.Guard.Task(r)
	if err != nil {
		return err
	}
	tasks, err := h.Tasks.Chain(r.Context(), user, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, tasks)
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
