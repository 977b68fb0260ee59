// Package memstore is an in-memory implementation of the store's task,
// outbox and processed-event operations, for handler tests that run without
// PostgreSQL. The conformance suite in this package runs the same checks on
// it and on the PostgreSQL store, so the fake cannot drift from the real
// thing.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/ratelimit"
	"github.com/todoevents/todo/shared/task"
)

// place is a task's series (its first task's id) and position in it.
type place struct {
	series   string
	position int
}

// Store keeps tasks, queued events and processed event ids in memory.
type Store struct {
	mu        sync.Mutex
	tasks     map[string]task.Task
	series    map[string]place // task id → its place in its series, as the tasks table's trigger sets it
	recurred  map[string]bool
	processed map[string]time.Time  // consumer/event id → when
	keys      map[[2]string]usedKey // user, idempotency key
	events    []cloudevents.Event
	// Err, when set, is returned by every call (a database that is down).
	Err error
	// Budget, when set, is every user's write budget, as
	// store.Store.Budget: a write that commits takes a token, one refused
	// writes nothing.
	Budget *ratelimit.Keyed
}

// New returns an empty store.
func New() *Store {
	return &Store{tasks: map[string]task.Task{}, series: map[string]place{}, recurred: map[string]bool{}, processed: map[string]time.Time{},
		keys: map[[2]string]usedKey{}}
}

type usedKey struct {
	digest string
	first  task.Task
	at     time.Time
}

// Events returns the events queued so far, in order.
func (s *Store) Events() []cloudevents.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]cloudevents.Event(nil), s.events...)
}

func (s *Store) get(userID, id string) (task.Task, error) {
	t, ok := s.tasks[id]
	if !ok || t.UserID != userID {
		return task.Task{}, apperr.New(apperr.NotFound, "task %s not found", id)
	}
	return t, nil
}

func (s *Store) hasChild(parentID string) bool {
	for _, t := range s.tasks {
		if t.ParentTaskID != nil && *t.ParentTaskID == parentID {
			return true
		}
	}
	return false
}

// CreateTask stores t and queues evt.
func (s *Store) CreateTask(_ context.Context, t task.Task, evt cloudevents.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	return s.create(t, evt)
}

// CreateTaskOnce creates t unless once's key was used, as the PostgreSQL
// store does.
func (s *Store) CreateTaskOnce(_ context.Context, t task.Task, evt cloudevents.Event, once contract.Once) (task.Task, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return task.Task{}, false, s.Err
	}
	k := [2]string{t.UserID, once.Key}
	if used, ok := s.keys[k]; ok && time.Since(used.at) < contract.IdempotencyKeyTTL {
		if used.digest != once.Digest {
			return task.Task{}, false, apperr.New(apperr.KeyReused, "Idempotency-Key %q was used for another request body", once.Key)
		}
		return used.first, true, nil
	}
	if err := s.create(t, evt); err != nil {
		return task.Task{}, false, err
	}
	s.keys[k] = usedKey{digest: once.Digest, first: t, at: time.Now()}
	return t, false, nil
}

// PurgeIdempotencyKeys forgets keys older than contract.IdempotencyKeyTTL.
func (s *Store) PurgeIdempotencyKeys(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.keys)
	maps.DeleteFunc(s.keys, func(_ [2]string, u usedKey) bool { return time.Since(u.at) >= contract.IdempotencyKeyTTL })
	return int64(n - len(s.keys)), s.Err
}

// PurgeWriteBudgets has nothing to do: the in-memory budget forgets the
// buckets that refilled by itself.
func (s *Store) PurgeWriteBudgets(context.Context) (int64, error) { return 0, s.Err }

func (s *Store) create(t task.Task, evt cloudevents.Event) error {
	if t.ParentTaskID != nil {
		if _, err := s.get(t.UserID, *t.ParentTaskID); err != nil {
			return apperr.Field("parent_task_id", "no task %s of this user", *t.ParentTaskID)
		}
		if s.hasChild(*t.ParentTaskID) {
			return apperr.New(apperr.Conflict, "task %s already has a next occurrence", *t.ParentTaskID)
		}
	}
	if _, ok := s.tasks[t.ID]; ok {
		return apperr.New(apperr.Conflict, "task %s already exists", t.ID)
	}
	if err := s.takeToken(t.UserID); err != nil {
		return err
	}
	s.insert(t)
	s.events = append(s.events, evt)
	return nil
}

// takeToken takes a token of user's write budget, if there is one.
func (s *Store) takeToken(user string) error {
	if s.Budget == nil {
		return nil
	}
	ok, wait := s.Budget.Allow(user)
	return httpx.Limit(ok, wait)
}

// GetTask returns task id of userID.
func (s *Store) GetTask(_ context.Context, userID, id string) (task.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return task.Task{}, s.Err
	}
	return s.get(userID, id)
}

// ListTasks returns userID's tasks that q selects, in q's order, one page,
// and how many match in all, as the PostgreSQL store does.
func (s *Store) ListTasks(_ context.Context, userID string, q contract.ListQuery) ([]task.Task, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, 0, s.Err
	}
	out := []task.Task{}
	for _, t := range s.tasks {
		if t.UserID == userID && matches(t, q) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i], out[j], q) })
	total := len(out)
	if q.After != nil {
		out = slices.DeleteFunc(out, func(t task.Task) bool { return !before(*q.After, contract.CursorOf(t, q.Sort), q) })
	}
	out = out[min(q.Offset, len(out)):]
	return out[:min(q.Limit, len(out))], total, nil
}

func matches(t task.Task, q contract.ListQuery) bool {
	if (t.ArchivedAt != nil) != q.Archived {
		return false
	}
	switch q.Status {
	case contract.FilterOpen:
		if t.Closed() {
			return false
		}
	case contract.FilterInProgress, contract.FilterDone, contract.FilterSkipped:
		if string(t.Status) != string(q.Status) {
			return false
		}
	case contract.FilterOverdue:
		if t.Closed() || t.DueDate == nil || !t.DueDate.Before(q.Now) {
			return false
		}
	}
	if q.Priority != "" && t.Priority != q.Priority {
		return false
	}
	for _, want := range q.Tags {
		if !slices.Contains(t.Tags, want) {
			return false
		}
	}
	overdue := !t.Closed() && t.DueDate != nil && t.DueDate.Before(q.Now)
	switch {
	case q.DueBefore != nil && (t.DueDate == nil || !t.DueDate.Before(*q.DueBefore)),
		q.DueAfter != nil && (t.DueDate == nil || !t.DueDate.After(*q.DueAfter)),
		q.Overdue != nil && *q.Overdue != overdue,
		q.Recurring != nil && *q.Recurring != t.Recurs(),
		q.ParentTaskID != "" && (t.ParentTaskID == nil || *t.ParentTaskID != q.ParentTaskID):
		return false
	}
	text := strings.ToLower(t.Title + " " + t.Description)
	return q.Search == "" || strings.Contains(text, strings.ToLower(q.Search))
}

// less orders a before b: by the sort key (missing due dates last), then
// by id, in the query's direction.
func less(a, b task.Task, q contract.ListQuery) bool {
	return before(contract.CursorOf(a, q.Sort), contract.CursorOf(b, q.Sort), q)
}

// before tells whether position a comes before b in q's order.
func before(a, b contract.Cursor, q contract.ListQuery) bool {
	if (a.Key == nil) != (b.Key == nil) {
		return b.Key == nil // missing keys last, either direction
	}
	c := 0
	if a.Key != nil {
		ka, _ := contract.KeyValue(q.Sort, *a.Key)
		kb, _ := contract.KeyValue(q.Sort, *b.Key)
		switch ka := ka.(type) {
		case time.Time:
			c = ka.Compare(kb.(time.Time))
		case int:
			c = ka - kb.(int)
		case string:
			c = strings.Compare(strings.ToLower(ka), strings.ToLower(kb.(string)))
		}
	}
	if c == 0 {
		c = strings.Compare(a.ID, b.ID)
	}
	if q.Desc {
		return c > 0
	}
	return c < 0
}

// Chain returns a page of the series task id of userID belongs to, by
// position, as the PostgreSQL store does.
func (s *Store) Chain(_ context.Context, userID, id string, q contract.ChainQuery) (contract.ChainPage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return contract.ChainPage{}, s.Err
	}
	if _, err := s.get(userID, id); err != nil {
		return contract.ChainPage{}, err
	}
	series := s.series[id].series
	var links []task.Task
	for tid, p := range s.series {
		if t, ok := s.tasks[tid]; ok && p.series == series && t.UserID == userID && p.position > q.After {
			links = append(links, t)
		}
	}
	sort.Slice(links, func(i, j int) bool { return s.series[links[i].ID].position < s.series[links[j].ID].position })
	page := contract.ChainPage{Tasks: links}
	if len(links) > q.Limit {
		page.Tasks = links[:q.Limit]
		next := s.series[page.Tasks[q.Limit-1].ID].position
		page.Next = &next
	}
	if page.Tasks == nil {
		page.Tasks = []task.Task{}
	}
	return page, nil
}

// Tags returns userID's tags with their counts, most used first, as the
// PostgreSQL store does.
func (s *Store) Tags(_ context.Context, userID string, q contract.TagQuery) ([]contract.TagCount, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	counts := map[string]int{}
	for _, t := range s.tasks {
		if t.UserID == userID {
			for _, tag := range t.Tags {
				if strings.HasPrefix(strings.ToLower(tag), strings.ToLower(q.Prefix)) {
					counts[tag]++
				}
			}
		}
	}
	out := []contract.TagCount{}
	for tag, n := range counts {
		out = append(out, contract.TagCount{Tag: tag, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Tag < out[j].Tag
	})
	if q.Limit > 0 {
		out = out[:min(q.Limit, len(out))]
	}
	return out, nil
}

// Stats counts userID's tasks on calendar c, as the PostgreSQL store does.
func (s *Store) Stats(_ context.Context, userID string, c contract.Calendar) (contract.Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return contract.Stats{}, s.Err
	}
	st := contract.Stats{ByStatus: map[string]int{"pending": 0, "in_progress": 0, "done": 0, "skipped": 0}, Timezone: c.Zone}
	in := func(t *time.Time, from, to time.Time) bool {
		return t != nil && !t.Before(from) && (to.IsZero() || t.Before(to))
	}
	for _, t := range s.tasks {
		if t.UserID != userID || t.ArchivedAt != nil {
			continue
		}
		st.Total++
		st.ByStatus[string(t.Status)]++
		open := !t.Closed()
		if open && t.DueDate != nil && t.DueDate.Before(c.Now) {
			st.Overdue++
		}
		if open && in(t.DueDate, c.Today, c.Tomorrow) {
			st.DueToday++
		}
		if t.Completed() && in(t.CompletedAt, c.Week, time.Time{}) {
			st.CompletedThisWeek++
		}
		if t.Recurs() {
			st.Recurring++
		}
	}
	return st, nil
}

// UpdateTask applies mutate to task id of userID and, if it produced an
// event, stores the task and queues the event.
func (s *Store) UpdateTask(_ context.Context, userID, id string, mutate contract.Mutation) (task.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return task.Task{}, s.Err
	}
	t, err := s.get(userID, id)
	if err != nil {
		return task.Task{}, err
	}
	evt, err := mutate(&t)
	if err != nil {
		return task.Task{}, err
	}
	if evt == nil {
		return t, nil
	}
	if err := s.takeToken(userID); err != nil {
		return task.Task{}, err
	}
	if !t.Closed() {
		delete(s.recurred, t.ID)
		t.ArchivedAt = nil
	}
	s.tasks[t.ID] = t
	s.events = append(s.events, *evt)
	return t, nil
}

// DeleteTask deletes task id of userID and queues the event announced
// builds; its next occurrence loses its parent.
func (s *Store) DeleteTask(_ context.Context, userID, id string, announced func(task.Task) (cloudevents.Event, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	t, err := s.get(userID, id)
	if err != nil {
		return err
	}
	evt, err := announced(t)
	if err != nil {
		return err
	}
	if err := s.takeToken(userID); err != nil {
		return err
	}
	delete(s.tasks, id)
	delete(s.series, id)
	for cid, c := range s.tasks {
		if c.ParentTaskID != nil && *c.ParentTaskID == id {
			c.ParentTaskID = nil
			s.tasks[cid] = c
		}
	}
	s.events = append(s.events, evt)
	return nil
}

// RecordOccurrence handles event eventID for consumer once, as the
// PostgreSQL store does.
func (s *Store) RecordOccurrence(_ context.Context, consumer, eventID, userID, parentID string, next contract.NextFunc) (contract.Outcome, *task.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return "", nil, s.Err
	}
	return s.recordOccurrence(consumer, eventID, userID, parentID, next)
}

// RecordOccurrences handles a batch as RecordOccurrence would each event in
// turn, all or nothing, as the PostgreSQL store does.
func (s *Store) RecordOccurrences(_ context.Context, consumer string, batch []contract.CompletionEvent) ([]contract.Handled, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	tasks, recurred, processed, queued := maps.Clone(s.tasks), maps.Clone(s.recurred), maps.Clone(s.processed), len(s.events)
	out := make([]contract.Handled, len(batch))
	for i, c := range batch {
		outcome, child, err := s.recordOccurrence(consumer, c.EventID, c.UserID, c.ParentID, c.Next)
		if err != nil && !errors.Is(err, contract.ErrStale) {
			s.tasks, s.recurred, s.processed, s.events = tasks, recurred, processed, s.events[:queued]
			return nil, err
		}
		out[i] = contract.Handled{Outcome: outcome, Child: child, Err: err}
	}
	return out, nil
}

func (s *Store) recordOccurrence(consumer, eventID, userID, parentID string, next contract.NextFunc) (contract.Outcome, *task.Task, error) {
	key := consumer + "/" + eventID
	if _, done := s.processed[key]; done {
		return contract.OutcomeDuplicate, nil, nil
	}
	parent, err := s.get(userID, parentID)
	if err != nil {
		return contract.OutcomeStale, nil, fmt.Errorf("%w: no task %s of user %s", contract.ErrStale, parentID, userID)
	}
	child, evt, err := next(parent)
	if errors.Is(err, contract.ErrStale) {
		return contract.OutcomeStale, nil, err
	}
	if err != nil {
		return "", nil, err
	}
	s.processed[key] = time.Now()
	s.recurred[parentID] = true
	switch {
	case child == nil:
		return contract.OutcomeNone, nil, nil
	case s.hasChild(parentID):
		return contract.OutcomeExists, nil, nil
	}
	s.insert(*child)
	s.events = append(s.events, *evt)
	return contract.OutcomeCreated, child, nil
}

// insert stores the new task t in its parent's series, after it, or at the
// start of a series of its own, as the tasks table's trigger does.
func (s *Store) insert(t task.Task) {
	s.tasks[t.ID] = t
	s.series[t.ID] = place{series: t.ID}
	if t.ParentTaskID != nil {
		if p, ok := s.series[*t.ParentTaskID]; ok && s.tasks[*t.ParentTaskID].UserID == t.UserID {
			s.series[t.ID] = place{series: p.series, position: p.position + 1}
		}
	}
}

// Enqueue queues evt.
func (s *Store) Enqueue(_ context.Context, evt cloudevents.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	if err := evt.Validate(); err != nil {
		return err
	}
	s.events = append(s.events, evt)
	return nil
}

// UnrecurredCompletions returns done or skipped recurring tasks closed
// more than grace ago that no event was handled for, oldest first, except
// those skip names.
func (s *Store) UnrecurredCompletions(_ context.Context, grace time.Duration, limit int, skip []string) ([]contract.Completion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	var out []contract.Completion
	for _, t := range s.tasks {
		if t.Closed() && t.Recurs() && !s.recurred[t.ID] && time.Since(*t.ClosedAt()) > grace && !slices.Contains(skip, t.ID) {
			out = append(out, contract.Completion{TaskID: t.ID, UserID: t.UserID, CompletedAt: *t.ClosedAt()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CompletedAt.Before(out[j].CompletedAt) })
	return out[:min(limit, len(out))], nil
}

// PurgeProcessedEvents forgets processed event ids older than retention.
func (s *Store) PurgeProcessedEvents(_ context.Context, retention time.Duration) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for k, at := range s.processed {
		if time.Since(at) > retention {
			delete(s.processed, k)
			n++
		}
	}
	return n, s.Err
}

// Leading runs fn: in one process this store is always the leader.
func (s *Store) Leading(ctx context.Context, _ int64, fn func(context.Context) error) (bool, error) {
	if s.Err != nil {
		return false, s.Err
	}
	return true, fn(ctx)
}

// ArchiveTasks archives up to limit tasks closed before now-after, oldest
// first, as the PostgreSQL store does.
func (s *Store) ArchiveTasks(_ context.Context, after time.Duration, limit int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return 0, s.Err
	}
	now := time.Now()
	var due []task.Task
	for _, t := range s.tasks {
		if at := t.ClosedAt(); t.ArchivedAt == nil && at != nil && at.Before(now.Add(-after)) {
			due = append(due, t)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].ClosedAt().Before(*due[j].ClosedAt()) })
	for _, t := range due[:min(limit, len(due))] {
		t.ArchivedAt = &now
		s.tasks[t.ID] = t
	}
	return int64(min(limit, len(due))), nil
}

// PurgeArchived deletes up to limit tasks archived before now-retention.
func (s *Store) PurgeArchived(_ context.Context, retention time.Duration, limit int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return 0, s.Err
	}
	var n int64
	for id, t := range s.tasks {
		if n < int64(limit) && t.ArchivedAt != nil && t.ArchivedAt.Before(time.Now().Add(-retention)) {
			delete(s.tasks, id)
			delete(s.series, id)
			n++
		}
	}
	return n, nil
}
