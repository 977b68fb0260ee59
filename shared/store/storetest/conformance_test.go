package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/ratelimit"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/store/storetest"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// impl is every store operation the functions use.
type impl interface {
	CreateTask(ctx context.Context, t task.Task, evt cloudevents.Event) error
	GetTask(ctx context.Context, userID, id string) (task.Task, error)
	ListTasks(ctx context.Context, userID string, q contract.ListQuery) ([]task.Task, int, error)
	UpdateTask(ctx context.Context, userID, id string, mutate contract.Mutation) (task.Task, error)
	RecordOccurrence(ctx context.Context, consumer, eventID, userID, parentID string, next contract.NextFunc) (contract.Outcome, *task.Task, error)
	RecordOccurrences(ctx context.Context, consumer string, batch []contract.CompletionEvent) ([]contract.Handled, error)
	UnrecurredCompletions(ctx context.Context, grace time.Duration, limit int, skip []string) ([]contract.Completion, error)
	DeleteTask(ctx context.Context, userID, id string, announced func(task.Task) (cloudevents.Event, error)) error
	Chain(ctx context.Context, userID, id string, q contract.ChainQuery) (contract.ChainPage, error)
	Tags(ctx context.Context, userID string, q contract.TagQuery) ([]contract.TagCount, error)
	Stats(ctx context.Context, userID string, c contract.Calendar) (contract.Stats, error)
	CreateTaskOnce(ctx context.Context, t task.Task, evt cloudevents.Event, once contract.Once) (task.Task, bool, error)
	PurgeIdempotencyKeys(ctx context.Context) (int64, error)
	ArchiveTasks(ctx context.Context, after time.Duration, limit int) (int64, error)
	PurgeArchived(ctx context.Context, retention time.Duration, limit int) (int64, error)
}

var (
	_ impl = (*storetest.Store)(nil)
	_ impl = (*store.Store)(nil)
)

// TestConformance runs one suite on the in-memory fake and on PostgreSQL.
func TestConformance(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(t *testing.T) impl{
		"memory":     func(*testing.T) impl { return storetest.New() },
		"postgresql": func(t *testing.T) impl { return testkit.Store(t, testkit.Database(t)) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				name string
				run  func(t *testing.T, s impl)
			}{
				{"tasks are the user's own", tasksAreTheUsersOwn},
				{"lists newest first by status", listsNewestFirstByStatus},
				{"filters, sorts and pages", filtersSortsAndPages},
				{"cursors walk every order without gaps", cursorsWalkEveryOrder},
				{"statistics on the user's calendar", statistics},
				{"an idempotency key creates once", idempotencyKeys},
				{"one next occurrence per task", oneNextOccurrence},
				{"a skip closes an occurrence as a completion does", skipsClose},
				{"batches of completions", batchedOccurrences},
				{"updates write only when the mutation says so", updates},
				{"deletes keep the next occurrence, unlinked", deletes},
				{"chains and tags", chainsAndTags},
				{"archives old closed tasks, keeps them readable", archives},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
			}
		})
	}
}

var ctx = context.Background()

func newTask(user, title string, at time.Time, recurring task.Recurring) task.Task {
	return task.Task{ID: uuid.NewString(), UserID: user, Title: title, Status: task.StatusPending,
		Priority: task.PriorityMedium, Timezone: "UTC", RecurringType: recurring, RecurrenceBasis: task.BasisCompletion,
		Tags: []string{}, CreatedAt: at, UpdatedAt: at}
}

func create(t *testing.T, s impl, tk task.Task) {
	t.Helper()
	e, err := events.ForTask(events.TypeTaskCreated, "test", tk, tk.CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTask(ctx, tk, e); err != nil {
		t.Fatal(err)
	}
}

func tasksAreTheUsersOwn(t *testing.T, s impl) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	alice, bob := testkit.User(), testkit.User()
	tk := newTask(alice, "a", now, task.RecurNone)
	create(t, s, tk)
	if got, err := s.GetTask(ctx, alice, tk.ID); err != nil || got.Title != "a" {
		t.Fatalf("owner reads %v, %v", got, err)
	}
	if _, err := s.GetTask(ctx, bob, tk.ID); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("another user reads: %v", err)
	}
	child := newTask(bob, "c", now, task.RecurNone)
	child.ParentTaskID = &tk.ID
	e, _ := events.ForTask(events.TypeTaskCreated, "test", child, now)
	if err := s.CreateTask(ctx, child, e); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("child of another user's task: %v", err)
	}
}

func listsNewestFirstByStatus(t *testing.T, s impl) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := testkit.User()
	var ids []string
	for i := range 3 {
		tk := newTask(user, fmt.Sprint(i), now.Add(time.Duration(i)*time.Second), task.RecurNone)
		if i == 1 {
			tk.SetCompleted(true, now)
		}
		create(t, s, tk)
		ids = append(ids, tk.ID)
	}
	for filter, want := range map[contract.StatusFilter][]string{
		contract.FilterAll: {ids[2], ids[1], ids[0]}, contract.FilterOpen: {ids[2], ids[0]}, contract.FilterDone: {ids[1]},
	} {
		got, total, err := s.ListTasks(ctx, user, contract.ListQuery{Status: filter, Limit: 10, Desc: true})
		if err != nil || len(got) != len(want) || total != len(want) {
			t.Fatalf("%s: %d tasks, %v; want %d", filter, len(got), err, len(want))
		}
		for i := range want {
			if got[i].ID != want[i] {
				t.Fatalf("%s: order %v", filter, got)
			}
		}
	}
	if got, total, _ := s.ListTasks(ctx, user, contract.ListQuery{Limit: 1, Desc: true}); len(got) != 1 || got[0].ID != ids[2] || total != 3 {
		t.Fatalf("limit 1: %v of %d", got, total)
	}
}

func filtersSortsAndPages(t *testing.T, s impl) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := testkit.User()
	mk := func(title, desc string, p task.Priority, tags []string, due *time.Time) string {
		tk := newTask(user, title, now, task.RecurNone)
		tk.Description, tk.Priority, tk.Tags, tk.DueDate = desc, p, tags, due
		create(t, s, tk)
		return title
	}
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	yes, no := true, false
	mk("Buy milk", "at the corner shop", task.PriorityHigh, []string{"home", "errand"}, &past)
	mk("Call mum", "", task.PriorityLow, []string{"family"}, &future)
	mk("Pay rent", "bank transfer", task.PriorityMedium, []string{"home"}, nil)
	titles := func(q contract.ListQuery) ([]string, int) {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 10
		}
		q.Now = now
		got, total, err := s.ListTasks(ctx, user, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tk := range got {
			out = append(out, tk.Title)
		}
		return out, total
	}
	for name, tc := range map[string]struct {
		q     contract.ListQuery
		want  string
		total int
	}{
		"priority":             {contract.ListQuery{Priority: task.PriorityHigh}, "Buy milk", 1},
		"all tags":             {contract.ListQuery{Tags: []string{"home", "errand"}, Sort: contract.SortTitle}, "Buy milk", 1},
		"one tag":              {contract.ListQuery{Tags: []string{"home"}, Sort: contract.SortTitle}, "Buy milk,Pay rent", 2},
		"search a word":        {contract.ListQuery{Search: "transfer"}, "Pay rent", 1},
		"search part of words": {contract.ListQuery{Search: "ILK"}, "Buy milk", 1},
		"search with wildcard": {contract.ListQuery{Search: "%"}, "", 0},
		"overdue":              {contract.ListQuery{Status: contract.FilterOverdue}, "Buy milk", 1},
		"due, none last":       {contract.ListQuery{Sort: contract.SortDue}, "Buy milk,Call mum,Pay rent", 3},
		"due descending":       {contract.ListQuery{Sort: contract.SortDue, Desc: true}, "Call mum,Buy milk,Pay rent", 3},
		"priority descending":  {contract.ListQuery{Sort: contract.SortPriority, Desc: true}, "Buy milk,Pay rent,Call mum", 3},
		"a page":               {contract.ListQuery{Sort: contract.SortTitle, Limit: 1, Offset: 1}, "Call mum", 3},
		"due before":           {contract.ListQuery{DueBefore: &now}, "Buy milk", 1},
		"due after":            {contract.ListQuery{DueAfter: &now}, "Call mum", 1},
		"not overdue":          {contract.ListQuery{Overdue: &no, Sort: contract.SortTitle}, "Call mum,Pay rent", 2},
		"not recurring":        {contract.ListQuery{Recurring: &no, Sort: contract.SortTitle}, "Buy milk,Call mum,Pay rent", 3},
		"recurring":            {contract.ListQuery{Recurring: &yes}, "", 0},
		"past the end":         {contract.ListQuery{Sort: contract.SortTitle, Offset: 5}, "", 3},
	} {
		got, total := titles(tc.q)
		if strings.Join(got, ",") != tc.want || total != tc.total {
			t.Errorf("%s: %v of %d, want %s of %d", name, got, total, tc.want, tc.total)
		}
	}
}

// cursorsWalkEveryOrder pages through tasks with tied keys and missing
// due dates, two at a time by cursor, in every sort and direction, and
// gets the same tasks in the same order as one big page.
func cursorsWalkEveryOrder(t *testing.T, s impl) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := testkit.User()
	due := now.Add(time.Hour)
	for i, title := range []string{"b", "B", "a", "c", "a", "C", "d"} {
		tk := newTask(user, title, now.Add(time.Duration(i%3)*time.Second), task.RecurNone)
		tk.Priority = []task.Priority{task.PriorityLow, task.PriorityHigh}[i%2]
		if i%3 != 0 {
			tk.DueDate = &due
		}
		create(t, s, tk)
	}
	for _, sortKey := range []string{contract.SortCreated, contract.SortUpdated, contract.SortDue, contract.SortPriority, contract.SortTitle} {
		for _, desc := range []bool{false, true} {
			q := contract.ListQuery{Sort: sortKey, Desc: desc, Limit: 100, Now: now}
			all, _, err := s.ListTasks(ctx, user, q)
			if err != nil {
				t.Fatal(err)
			}
			var walked []task.Task
			q.Limit = 2
			for range 10 {
				page, total, err := s.ListTasks(ctx, user, q)
				if err != nil {
					t.Fatalf("%s desc=%v: %v", sortKey, desc, err)
				}
				if total != 7 {
					t.Fatalf("%s desc=%v: total %d, want 7", sortKey, desc, total)
				}
				walked = append(walked, page...)
				if len(page) < q.Limit {
					break
				}
				c := contract.CursorOf(page[len(page)-1], sortKey)
				q.After = &c
			}
			if ids(walked) != ids(all) || len(all) != 7 {
				t.Errorf("%s desc=%v: walked %s, want %s", sortKey, desc, ids(walked), ids(all))
			}
		}
	}
}

// statistics counts on a calendar in a zone ahead of UTC: a task due at
// 23:30 UTC the day before is due today in Tokyo.
func statistics(t *testing.T, s impl) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, tokyo) // a Wednesday
	user := testkit.User()
	add := func(due time.Time, done bool, kind task.Recurring) task.Task {
		tk := newTask(user, "t", now.Add(-48*time.Hour), kind)
		tk.DueDate = &due
		create(t, s, tk)
		if done {
			complete(t, s, tk, now.Add(-time.Hour))
		}
		return tk
	}
	add(time.Date(2026, 3, 3, 23, 30, 0, 0, time.UTC), false, task.RecurNone) // 08:30 today in Tokyo: overdue too
	add(now.Add(-time.Hour), false, task.RecurDaily)                          // overdue and today
	add(now.Add(-72*time.Hour), false, task.RecurNone)                        // overdue
	add(now.Add(48*time.Hour), true, task.RecurNone)                          // done this week
	skip(t, s, add(now.Add(-24*time.Hour), false, task.RecurDaily), now)      // skipped: closed, neither overdue nor due
	c := contract.CalendarAt(now, tokyo)
	if c.Week != time.Date(2026, 3, 2, 0, 0, 0, 0, tokyo) {
		t.Fatalf("week starts %v, want Monday 2 March", c.Week)
	}
	st, err := s.Stats(ctx, user, c)
	if err != nil {
		t.Fatal(err)
	}
	want := contract.Stats{Total: 5, ByStatus: map[string]int{"pending": 3, "in_progress": 0, "done": 1, "skipped": 1}, Overdue: 3,
		DueToday: 2, CompletedThisWeek: 1, Recurring: 2, Timezone: "Asia/Tokyo"}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

// idempotencyKeys: a key with the same digest returns the first task and
// creates nothing; with another digest it is refused; keys are per user.
func idempotencyKeys(t *testing.T, s impl) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := testkit.User()
	attempt := func(user, digest string) (task.Task, task.Task, bool, error) {
		tk := newTask(user, "once", now, task.RecurNone)
		e, _ := events.ForTask(events.TypeTaskCreated, "test", tk, now)
		got, replayed, err := s.CreateTaskOnce(ctx, tk, e, contract.Once{Key: "key-1", Digest: digest})
		return tk, got, replayed, err
	}
	first, got, replayed, err := attempt(user, "d1")
	if err != nil || replayed || got.ID != first.ID {
		t.Fatalf("first: %v replayed=%v", err, replayed)
	}
	_, got, replayed, err = attempt(user, "d1")
	if err != nil || !replayed || got.ID != first.ID || !got.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("retry: %v replayed=%v got %s, want %s", err, replayed, got.ID, first.ID)
	}
	if _, _, _, err = attempt(user, "d2"); apperr.CodeOf(err) != apperr.KeyReused {
		t.Fatalf("other body: %v", err)
	}
	if _, total, _ := s.ListTasks(ctx, user, contract.ListQuery{Limit: 10}); total != 1 {
		t.Fatalf("%d tasks, want 1", total)
	}
	if _, _, replayed, err = attempt(testkit.User(), "d2"); err != nil || replayed {
		t.Fatalf("another user's key: %v replayed=%v", err, replayed)
	}
	if n, err := s.PurgeIdempotencyKeys(ctx); err != nil || n != 0 {
		t.Fatalf("purged %d fresh keys: %v", n, err)
	}
}

func ids(tasks []task.Task) string {
	var out []string
	for _, tk := range tasks {
		out = append(out, tk.ID)
	}
	return strings.Join(out, ",")
}

// complete marks tk done at `at` through UpdateTask.
func complete(t *testing.T, s impl, tk task.Task, at time.Time) task.Task {
	t.Helper()
	done, err := s.UpdateTask(ctx, tk.UserID, tk.ID, func(x *task.Task) (*cloudevents.Event, error) {
		x.SetCompleted(true, at)
		e, err := events.ForTask(events.TypeTaskCompleted, "test", *x, at)
		return &e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return done
}

// skip closes tk as skipped at at, with its event.
func skip(t *testing.T, s impl, tk task.Task, at time.Time) task.Task {
	t.Helper()
	skipped, err := s.UpdateTask(ctx, tk.UserID, tk.ID, func(x *task.Task) (*cloudevents.Event, error) {
		if !x.Skip(at) {
			return nil, nil
		}
		e, err := events.ForTask(events.TypeTaskSkipped, "test", *x, at)
		return &e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return skipped
}

func skipsClose(t *testing.T, s impl) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := testkit.User()
	tk := newTask(user, "skip me", now.Add(-time.Hour), task.RecurDaily)
	create(t, s, tk)
	skipped := skip(t, s, tk, now.Add(-time.Minute))
	if skipped.Status != task.StatusSkipped || skipped.SkippedAt == nil || skipped.CompletedAt != nil {
		t.Fatalf("skipped: %+v", skipped)
	}
	got, _ := s.UnrecurredCompletions(ctx, time.Second, 1000, nil)
	if !hasCompletion(got, tk.ID) {
		t.Fatal("a skip nothing handled is not listed for the reconciler")
	}
	for filter, want := range map[contract.StatusFilter]int{contract.FilterSkipped: 1, contract.FilterOpen: 0, contract.FilterDone: 0,
		contract.FilterOverdue: 0, contract.FilterAll: 1} {
		if list, _, err := s.ListTasks(ctx, user, contract.ListQuery{Status: filter, Desc: true, Limit: 10,
			Now: now}); err != nil || len(list) != want {
			t.Fatalf("filter %s: %d tasks (%v), want %d", filter, len(list), err, want)
		}
	}
	if got, _, err := s.RecordOccurrence(ctx, "conformance", "skip-1", user, tk.ID, nextOf(user, now)); got != contract.OutcomeCreated {
		t.Fatalf("the skip's event: %s (%v)", got, err)
	}
	if got, _ := s.UnrecurredCompletions(ctx, time.Second, 1000, nil); hasCompletion(got, tk.ID) {
		t.Fatal("a handled skip is still listed for the reconciler")
	}
}

func oneNextOccurrence(t *testing.T, s impl) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := testkit.User()
	tk := newTask(user, "daily", now.Add(-time.Hour), task.RecurDaily)
	create(t, s, tk)
	done := complete(t, s, tk, now.Add(-time.Minute))
	if got, _ := s.UnrecurredCompletions(ctx, time.Second, 1000, nil); !hasCompletion(got, tk.ID) {
		t.Fatal("a completion nothing handled is not listed for the reconciler")
	}
	if got, _ := s.UnrecurredCompletions(ctx, time.Second, 1000, []string{tk.ID}); hasCompletion(got, tk.ID) {
		t.Fatal("a completion the reconciler skips is still listed")
	}
	next := nextOf(user, now)
	steps := []struct {
		event, user, task string
		next              contract.NextFunc
		want              contract.Outcome
	}{
		{"e0", user, tk.ID, stale, contract.OutcomeStale},
		{"e1", user, tk.ID, next, contract.OutcomeCreated},
		{"e1", user, tk.ID, next, contract.OutcomeDuplicate},
		{"e2", user, tk.ID, next, contract.OutcomeExists},
		{"e3", testkit.User(), tk.ID, next, contract.OutcomeStale},
		{"e4", user, uuid.NewString(), next, contract.OutcomeStale},
		{"e0", user, tk.ID, next, contract.OutcomeExists}, // a stale event was not recorded as processed
	}
	for _, st := range steps {
		got, _, err := s.RecordOccurrence(ctx, "conformance", st.event, st.user, st.task, st.next)
		if got != st.want || (got == contract.OutcomeStale) != errors.Is(err, contract.ErrStale) {
			t.Fatalf("event %s: %s (%v), want %s", st.event, got, err, st.want)
		}
	}
	if got, _ := s.UnrecurredCompletions(ctx, time.Second, 1000, nil); hasCompletion(got, done.ID) {
		t.Fatal("a handled completion is still listed for the reconciler")
	}
}

// batchedOccurrences: a batch has the effect of its events handled one at
// a time, and a failing event leaves nothing of the batch behind.
func batchedOccurrences(t *testing.T, s impl) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := testkit.User()
	var a, b task.Task
	for _, tk := range []*task.Task{&a, &b} {
		*tk = newTask(user, "daily", now.Add(-time.Hour), task.RecurDaily)
		create(t, s, *tk)
		complete(t, s, *tk, now.Add(-time.Minute))
	}
	next := nextOf(user, now)
	boom := func(task.Task) (*task.Task, *cloudevents.Event, error) { return nil, nil, errors.New("boom") }
	if _, err := s.RecordOccurrences(ctx, "batch", []contract.CompletionEvent{{EventID: "f1", UserID: user, ParentID: a.ID, Next: next},
		{EventID: "f2", UserID: user, ParentID: b.ID, Next: boom}}); err == nil {
		t.Fatal("a failing event did not fail its batch")
	}
	batch := []contract.CompletionEvent{
		{EventID: "e0", UserID: user, ParentID: a.ID, Next: stale},
		{EventID: "e1", UserID: user, ParentID: a.ID, Next: next},
		{EventID: "e1", UserID: user, ParentID: a.ID, Next: next},
		{EventID: "e2", UserID: user, ParentID: a.ID, Next: next},
		{EventID: "e3", UserID: testkit.User(), ParentID: a.ID, Next: next},
		{EventID: "e4", UserID: user, ParentID: uuid.NewString(), Next: next},
		{EventID: "e0", UserID: user, ParentID: a.ID, Next: next}, // the stale e0 was not recorded
		{EventID: "f1", UserID: user, ParentID: b.ID, Next: next}, // the failed batch left nothing
		{EventID: "e5", UserID: user, ParentID: b.ID, Next: stale},
	}
	want := []contract.Outcome{contract.OutcomeStale, contract.OutcomeCreated, contract.OutcomeDuplicate, contract.OutcomeExists,
		contract.OutcomeStale, contract.OutcomeStale, contract.OutcomeExists, contract.OutcomeCreated, contract.OutcomeStale}
	got, err := s.RecordOccurrences(ctx, "batch", batch)
	if err != nil || len(got) != len(want) {
		t.Fatalf("batch: %v, %d results", err, len(got))
	}
	for i, h := range got {
		if h.Outcome != want[i] || (h.Outcome == contract.OutcomeStale) != errors.Is(h.Err, contract.ErrStale) ||
			(h.Outcome == contract.OutcomeCreated) != (h.Child != nil && *h.Child.ParentTaskID == batch[i].ParentID) {
			t.Fatalf("event %d (%s): %s %v %v, want %s", i, batch[i].EventID, h.Outcome, h.Err, h.Child, want[i])
		}
	}
	for _, tk := range []task.Task{a, b} {
		if chain, err := s.Chain(ctx, user, tk.ID, contract.ChainQuery{After: -1, Limit: 10}); err != nil || len(chain.Tasks) != 2 {
			t.Fatalf("series of %s: %d tasks (%v), want the task and one next occurrence", tk.Title, len(chain.Tasks), err)
		}
	}
	if got, _, _ := s.RecordOccurrence(ctx, "batch", "e5", user, b.ID, next); got != contract.OutcomeExists {
		t.Fatalf("the stale e5 again: %s, want %s (not recorded as processed)", got, contract.OutcomeExists)
	}
	if got, _, _ := s.RecordOccurrence(ctx, "batch", "e1", user, a.ID, next); got != contract.OutcomeDuplicate {
		t.Fatalf("e1 again: %s, want %s", got, contract.OutcomeDuplicate)
	}
}

// nextOf builds a daily next occurrence of user's parent at now.
func nextOf(user string, now time.Time) contract.NextFunc {
	return func(parent task.Task) (*task.Task, *cloudevents.Event, error) {
		c := newTask(user, "next", now, task.RecurDaily)
		c.ParentTaskID = &parent.ID
		e, err := events.ForTask(events.TypeTaskCreated, "test", c, now)
		return &c, &e, err
	}
}

// stale rejects the completion as the stored task would.
func stale(task.Task) (*task.Task, *cloudevents.Event, error) {
	return nil, nil, fmt.Errorf("%w: test", contract.ErrStale)
}

func hasCompletion(cs []contract.Completion, id string) bool {
	for _, c := range cs {
		if c.TaskID == id {
			return true
		}
	}
	return false
}

func updates(t *testing.T, s impl) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := testkit.User()
	tk := newTask(user, "t", now, task.RecurNone)
	create(t, s, tk)
	same, err := s.UpdateTask(ctx, user, tk.ID, func(x *task.Task) (*cloudevents.Event, error) {
		x.Title = "not saved"
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if stored, _ := s.GetTask(ctx, user, tk.ID); stored.Title != "t" {
		t.Fatalf("a mutation without an event was saved: %q (returned %q)", stored.Title, same.Title)
	}
	if _, err := s.UpdateTask(ctx, testkit.User(), tk.ID, func(*task.Task) (*cloudevents.Event, error) { return nil, nil }); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("another user's update: %v", err)
	}
	done := complete(t, s, tk, now)
	if stored, _ := s.GetTask(ctx, user, tk.ID); !stored.Completed() || !stored.CompletedAt.Equal(*done.CompletedAt) {
		t.Fatalf("completion not stored: %+v", stored)
	}
}

func deletes(t *testing.T, s impl) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := testkit.User()
	parent := newTask(user, "p", now, task.RecurDaily)
	create(t, s, parent)
	child := newTask(user, "c", now, task.RecurDaily)
	child.ParentTaskID = &parent.ID
	create(t, s, child)
	announced := func(tk task.Task) (cloudevents.Event, error) {
		return events.ForTask(events.TypeTaskDeleted, "test", tk, now)
	}
	if err := s.DeleteTask(ctx, testkit.User(), parent.ID, announced); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("another user's delete: %v", err)
	}
	if err := s.DeleteTask(ctx, user, parent.ID, announced); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTask(ctx, user, parent.ID); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("deleted task still read: %v", err)
	}
	if got, err := s.GetTask(ctx, user, child.ID); err != nil || got.ParentTaskID != nil {
		t.Fatalf("the occurrence after its parent's delete: %+v, %v", got, err)
	}
	// It keeps its place in the series, and a next occurrence of it joins
	// the series after it.
	grandchild := newTask(user, "g", now, task.RecurDaily)
	grandchild.ParentTaskID = &child.ID
	create(t, s, grandchild)
	chain, err := s.Chain(ctx, user, grandchild.ID, contract.ChainQuery{After: 0, Limit: 10})
	if err != nil || len(chain.Tasks) != 2 || chain.Tasks[0].ID != child.ID || chain.Tasks[1].ID != grandchild.ID {
		t.Fatalf("the series after a delete, from position 1: %+v, %v", chain, err)
	}
	if err := s.DeleteTask(ctx, user, parent.ID, announced); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("second delete: %v", err)
	}
}

func chainsAndTags(t *testing.T, s impl) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := testkit.User()
	var ids []string
	var parent *string
	for i := range 3 {
		tk := newTask(user, fmt.Sprint("run ", i), now.Add(time.Duration(i)*time.Second), task.RecurDaily)
		tk.ParentTaskID, tk.Tags = parent, []string{"health"}
		if i == 0 {
			tk.Tags = []string{"health", "outdoor"}
		}
		create(t, s, tk)
		ids = append(ids, tk.ID)
		parent = &ids[i]
	}
	create(t, s, newTask(user, "alone", now, task.RecurNone))
	whole := contract.ChainQuery{After: -1, Limit: 10}
	for _, from := range ids {
		chain, err := s.Chain(ctx, user, from, whole)
		if err != nil || len(chain.Tasks) != 3 || chain.Tasks[0].ID != ids[0] || chain.Tasks[2].ID != ids[2] || chain.Next != nil {
			t.Fatalf("chain from %s: %+v, %v", from, chain, err)
		}
	}
	// In pages of two: the first two, then the third after the second's
	// position; past the end an empty page.
	first, err := s.Chain(ctx, user, ids[2], contract.ChainQuery{After: -1, Limit: 2})
	if err != nil || len(first.Tasks) != 2 || first.Tasks[1].ID != ids[1] || first.Next == nil || *first.Next != 1 {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	second, err := s.Chain(ctx, user, ids[2], contract.ChainQuery{After: *first.Next, Limit: 2})
	if err != nil || len(second.Tasks) != 1 || second.Tasks[0].ID != ids[2] || second.Next != nil {
		t.Fatalf("second page: %+v, %v", second, err)
	}
	if past, err := s.Chain(ctx, user, ids[0], contract.ChainQuery{After: 7, Limit: 2}); err != nil || len(past.Tasks) != 0 || past.Next != nil {
		t.Fatalf("past the end: %+v, %v", past, err)
	}
	if _, err := s.Chain(ctx, testkit.User(), ids[1], whole); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("another user's chain: %v", err)
	}
	tags, err := s.Tags(ctx, user, contract.TagQuery{})
	if err != nil || len(tags) != 2 || tags[0] != (contract.TagCount{Tag: "health", Count: 3}) || tags[1] != (contract.TagCount{Tag: "outdoor", Count: 1}) {
		t.Fatalf("tags: %v, %v", tags, err)
	}
	for _, c := range []struct {
		q    contract.TagQuery
		want []string
	}{
		{contract.TagQuery{Prefix: "HE"}, []string{"health"}},
		{contract.TagQuery{Prefix: "o"}, []string{"outdoor"}},
		{contract.TagQuery{Limit: 1}, []string{"health"}},
		{contract.TagQuery{Prefix: "%"}, nil},
		{contract.TagQuery{Prefix: "_ealth"}, nil},
		{contract.TagQuery{Prefix: "x"}, nil},
	} {
		got, err := s.Tags(ctx, user, c.q)
		var names []string
		for _, tc := range got {
			names = append(names, tc.Tag)
		}
		if err != nil || fmt.Sprint(names) != fmt.Sprint(c.want) {
			t.Fatalf("tags %+v: %v (%v), want %v", c.q, names, err, c.want)
		}
	}
}

// One write budget per user, on both stores: creates, updates, completions
// and deletes all take from it; a write it refuses is a 429 with a time to
// retry and writes nothing; no-op updates and other users take nothing.
func TestWriteBudgetConformance(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(t *testing.T) impl{
		"memory": func(*testing.T) impl {
			s := storetest.New()
			s.Budget = ratelimit.New(1) // bursts of 5
			return s
		},
		"postgresql": func(t *testing.T) impl {
			s := testkit.Store(t, testkit.Database(t))
			s.Budget = store.NewWriteBudget(1)
			return s
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			now := time.Now().UTC().Truncate(time.Microsecond)
			user, other := testkit.User(), testkit.User()
			a, b := newTask(user, "a", now, task.RecurDaily), newTask(user, "b", now, task.RecurNone)
			create(t, s, a)
			create(t, s, b)
			noop := func(*task.Task) (*cloudevents.Event, error) { return nil, nil }
			for range 3 {
				if _, err := s.UpdateTask(ctx, user, a.ID, noop); err != nil {
					t.Fatalf("a no-op update: %v", err)
				}
			}
			complete(t, s, a, now)
			rename := func(x *task.Task) (*cloudevents.Event, error) {
				x.Title = "renamed"
				e, err := events.ForTask(events.TypeTaskUpdated, "test", *x, now)
				return &e, err
			}
			if _, err := s.UpdateTask(ctx, user, b.ID, rename); err != nil {
				t.Fatal(err)
			}
			announce := func(x task.Task) (cloudevents.Event, error) {
				return events.ForTask(events.TypeTaskDeleted, "test", x, now)
			}
			if err := s.DeleteTask(ctx, user, b.ID, announce); err != nil {
				t.Fatal(err)
			}
			// Five writes: the budget is used up, whatever the route.
			c := newTask(user, "c", now, task.RecurNone)
			e, _ := events.ForTask(events.TypeTaskCreated, "test", c, now)
			refusals := map[string]error{
				"create": s.CreateTask(ctx, c, e),
				"delete": s.DeleteTask(ctx, user, a.ID, announce),
			}
			_, refusals["update"] = s.UpdateTask(ctx, user, a.ID, rename)
			for what, err := range refusals {
				ae := apperr.As(err)
				if ae.Code != apperr.RateLimited || ae.RetryAfter <= 0 {
					t.Fatalf("a %s over the budget: %v (retry after %v), want rate_limited with a time", what, err, ae.RetryAfter)
				}
			}
			if _, err := s.GetTask(ctx, user, c.ID); apperr.CodeOf(err) != apperr.NotFound {
				t.Fatalf("a refused create was stored: %v", err)
			}
			if got, err := s.GetTask(ctx, user, a.ID); err != nil || got.Title != "a" {
				t.Fatalf("a refused update or delete changed the task: %+v %v", got, err)
			}
			create(t, s, newTask(other, "x", now, task.RecurNone))
		})
	}
}

func archives(t *testing.T, s impl) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := testkit.User()
	closed := func(title string, ago time.Duration, parent *string) task.Task {
		tk := newTask(user, title, now.Add(-ago), task.RecurDaily)
		at := now.Add(-ago)
		tk.Status, tk.CompletedAt, tk.ParentTaskID = task.StatusDone, &at, parent
		create(t, s, tk)
		return tk
	}
	old := closed("old", 100*24*time.Hour, nil)
	recent := closed("recent", 24*time.Hour, &old.ID)
	open := newTask(user, "open", now, task.RecurNone)
	create(t, s, open)
	if n, err := s.ArchiveTasks(ctx, 90*24*time.Hour, 10); err != nil || n != 1 {
		t.Fatalf("archived %d, %v; want the one closed 100 days ago", n, err)
	}
	if n, err := s.ArchiveTasks(ctx, 90*24*time.Hour, 10); err != nil || n != 0 {
		t.Fatalf("a second pass archived %d, %v", n, err)
	}
	titles := func(q contract.ListQuery) []string {
		q.Limit = 10
		list, total, err := s.ListTasks(ctx, user, q)
		if err != nil || total != len(list) {
			t.Fatalf("list %+v: %v (total %d)", q, err, total)
		}
		var out []string
		for _, tk := range list {
			out = append(out, tk.Title)
		}
		slices.Sort(out)
		return out
	}
	if got := titles(contract.ListQuery{}); !slices.Equal(got, []string{"open", "recent"}) {
		t.Fatalf("default list %v, want the archived task out of it", got)
	}
	if got := titles(contract.ListQuery{Archived: true}); !slices.Equal(got, []string{"old"}) {
		t.Fatalf("archived list %v", got)
	}
	st, err := s.Stats(ctx, user, contract.Calendar{Now: now, Today: now, Tomorrow: now, Week: now, Zone: "UTC"})
	if err != nil || st.Total != 2 || st.ByStatus["done"] != 1 {
		t.Fatalf("statistics count the archived task: %+v, %v", st, err)
	}
	got, err := s.GetTask(ctx, user, old.ID)
	if err != nil || got.ArchivedAt == nil {
		t.Fatalf("the archived task by id: %+v, %v", got, err)
	}
	if chain, err := s.Chain(ctx, user, recent.ID, contract.ChainQuery{After: -1, Limit: 10}); err != nil ||
		len(chain.Tasks) != 2 || chain.Tasks[0].ID != old.ID || chain.Tasks[0].ArchivedAt == nil {
		t.Fatalf("the series with its archived start: %+v, %v", chain, err)
	}
	// Reopened, it is back in the lists.
	reopened, err := s.UpdateTask(ctx, user, old.ID, func(tk *task.Task) (*cloudevents.Event, error) {
		tk.SetCompleted(false, now)
		e, err := events.ForTask(events.TypeTaskUpdated, "test", *tk, now)
		return &e, err
	})
	if err != nil || reopened.ArchivedAt != nil {
		t.Fatalf("reopened: %+v, %v", reopened, err)
	}
	if got, err := s.GetTask(ctx, user, old.ID); err != nil || got.ArchivedAt != nil {
		t.Fatalf("reopened, as stored: %+v, %v", got, err)
	}
	if got := titles(contract.ListQuery{}); !slices.Equal(got, []string{"old", "open", "recent"}) {
		t.Fatalf("default list after reopening %v", got)
	}
	// Purged only past the retention asked for.
	if n, err := s.ArchiveTasks(ctx, time.Hour, 10); err != nil || n != 1 {
		t.Fatalf("archived %d, %v; want the recent one", n, err)
	}
	if n, err := s.PurgeArchived(ctx, time.Hour, 10); err != nil || n != 0 {
		t.Fatalf("purged %d, %v; nothing was archived an hour ago", n, err)
	}
	time.Sleep(10 * time.Millisecond)
	if n, err := s.PurgeArchived(ctx, time.Millisecond, 10); err != nil || n != 1 {
		t.Fatalf("purged %d, %v", n, err)
	}
	if _, err := s.GetTask(ctx, user, recent.ID); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("a purged task is still read: %v", err)
	}
}
