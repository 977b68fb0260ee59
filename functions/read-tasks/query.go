package function

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/task"
)

// List limits.
const (
	DefaultLimit = 100
	MaxLimit     = 100
)

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
	"recurring", "archived", "parent_task_id", "sort", "sort_by", "order", "sort_order", "limit", "offset", "skip", "cursor"}

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
	if v := get("archived"); v != "" {
		if lq.Archived, err = strconv.ParseBool(v); err != nil {
			return lq, apperr.Field("archived", "must be true (the archived tasks: closed longer than ARCHIVE_AFTER ago) or false")
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
