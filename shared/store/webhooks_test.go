package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/testkit"
	"github.com/todoevents/todo/shared/webhook"
)

func newHook(t *testing.T, st *store.Store, user string, at time.Time, events ...string) webhook.Webhook {
	t.Helper()
	w, err := st.CreateWebhook(context.Background(), webhook.Webhook{ID: uuid.NewString(), UserID: user,
		URL: "https://hooks.example.com/" + user, Events: events, Secret: "whsec_c2VjcmV0", CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func hookEvent(user, name string, at time.Time) webhook.Event {
	return webhook.Event{ID: uuid.NewString(), UserID: user, Type: name, Time: at, Payload: []byte(`{"type":"` + name + `"}`)}
}

// A user holds at most webhook.MaxPerUser webhooks, also when creating
// them all at once; another user's webhook is not found by any call.
func TestWebhooksBoundAndOwned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testkit.Store(t, testkit.Database(t))
	user, other := testkit.User(), testkit.User()
	var wg sync.WaitGroup
	errs := make([]error, webhook.MaxPerUser+5)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = st.CreateWebhook(ctx, webhook.Webhook{ID: uuid.NewString(), UserID: user, URL: fmt.Sprintf("https://h.example/%d", i),
				Events: []string{webhook.TaskCreated}, Secret: "whsec_c2VjcmV0", CreatedAt: time.Now()})
		})
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		switch {
		case err == nil:
		case apperr.CodeOf(err) == apperr.Conflict:
			refused++
		default:
			t.Fatal(err)
		}
	}
	hooks, err := st.ListWebhooks(ctx, user)
	if err != nil || len(hooks) != webhook.MaxPerUser || refused != 5 {
		t.Fatalf("%d webhooks (%v), %d refused; want %d and 5", len(hooks), err, refused, webhook.MaxPerUser)
	}
	if hooks[0].Secret != "" || hooks[0].State != webhook.Active {
		t.Fatalf("listed: %+v", hooks[0])
	}
	id := hooks[0].ID
	if _, err := st.GetWebhook(ctx, other, id); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("another user's webhook: %v", err)
	}
	if _, err := st.ListDeliveries(ctx, other, id, 10); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("another user's deliveries: %v", err)
	}
	if err := st.DeleteWebhook(ctx, other, id); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("deleting another user's webhook: %v", err)
	}
	if list, _ := st.ListWebhooks(ctx, other); len(list) != 0 {
		t.Fatalf("another user lists %d webhooks", len(list))
	}
	if err := st.DeleteWebhook(ctx, user, id); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetWebhook(ctx, user, id); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("a deleted webhook: %v", err)
	}
}

// An event is queued once for each webhook of its user that wants it and
// existed when it happened, however often it is queued; a claimed
// delivery is leased; how it went is stored; one webhook failing for the
// whole period is disabled and its pending deliveries fail with it.
func TestWebhookDeliveryQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testkit.Store(t, testkit.Database(t))
	t0 := time.Now().UTC().Truncate(time.Microsecond).Add(-time.Hour)
	user, other := testkit.User(), testkit.User()
	reminders := newHook(t, st, user, t0, webhook.TaskReminder)
	all := newHook(t, st, user, t0, webhook.Events...)
	newHook(t, st, other, t0, webhook.Events...)
	late := newHook(t, st, user, t0.Add(time.Minute), webhook.Events...)

	evts := []webhook.Event{hookEvent(user, webhook.TaskReminder, t0.Add(time.Second)), hookEvent(user, webhook.TaskCreated, t0.Add(time.Second))}
	for range 2 { // a redelivered batch adds nothing
		n, err := st.EnqueueDeliveries(ctx, evts, t0.Add(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int64{true: 3, false: 0}[n > 0]; n != want {
			t.Fatalf("%d deliveries queued, want 3 then none", n)
		}
	}
	for hook, want := range map[string]int{reminders.ID: 1, all.ID: 2, late.ID: 0} {
		if got, _ := st.ListDeliveries(ctx, user, hook, 10); len(got) != want {
			t.Fatalf("webhook %s has %d deliveries, want %d", hook, len(got), want)
		}
	}

	now := t0.Add(3 * time.Second)
	claimed, err := st.ClaimDeliveries(ctx, now, 10, 1, time.Minute)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claimed %d (%v), want one of each webhook", len(claimed), err)
	}
	if again, _ := st.ClaimDeliveries(ctx, now, 10, 10, time.Minute); len(again) != 1 {
		t.Fatalf("claimed %d more while leased, want the one left", len(again))
	}
	if again, _ := st.ClaimDeliveries(ctx, now.Add(59*time.Second), 10, 10, time.Minute); len(again) != 0 {
		t.Fatalf("claimed %d leased deliveries", len(again))
	}
	leased, _ := st.ClaimDeliveries(ctx, now.Add(2*time.Minute), 10, 10, time.Minute)
	if len(leased) != 3 || leased[0].Secret == "" || leased[0].URL == "" || len(leased[0].Payload) == 0 {
		t.Fatalf("after the lease %d deliveries came back, want 3 with what to send", len(leased))
	}

	// The reminders webhook answers; the other one fails until it is disabled.
	at := now.Add(2 * time.Minute)
	status500, status200 := 500, 200
	var outcomes []webhook.Outcome
	for _, d := range leased {
		if d.WebhookID == reminders.ID {
			outcomes = append(outcomes, webhook.Outcome{DeliveryID: d.ID, WebhookID: d.WebhookID, At: at, Tried: true, Delivered: true, Status: &status200})
			continue
		}
		next := at.Add(time.Second)
		outcomes = append(outcomes, webhook.Outcome{DeliveryID: d.ID, WebhookID: d.WebhookID, At: at, Tried: true, Status: &status500,
			Error: "HTTP 500: oops", Next: &next})
	}
	disabled, err := st.RecordOutcomes(ctx, outcomes, at, time.Hour)
	if err != nil || len(disabled) != 0 {
		t.Fatalf("%v %v", disabled, err)
	}
	got, _ := st.ListDeliveries(ctx, user, reminders.ID, 10)
	if d := got[0]; d.State != webhook.Delivered || d.Attempts != 1 || d.FinishedAt == nil || d.NextAttemptAt != nil || *d.LastStatus != 200 {
		t.Fatalf("delivered: %+v", d)
	}
	got, _ = st.ListDeliveries(ctx, user, all.ID, 10)
	for _, d := range got {
		if d.State != webhook.Pending || d.Attempts != 1 || d.LastError != "HTTP 500: oops" || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(at.Add(time.Second)) {
			t.Fatalf("failed once: %+v", d)
		}
	}
	if h, _ := st.GetWebhook(ctx, user, all.ID); h.FailingSince == nil || !h.FailingSince.Equal(at) {
		t.Fatalf("failing webhook: %+v", h)
	}
	if fresh, retrying, err := st.DeliveryQueue(ctx); err != nil || fresh != 0 || retrying != 2 {
		t.Fatalf("queue: %d new, %d retrying (%v)", fresh, retrying, err)
	}

	later := at.Add(time.Hour)
	one, _ := st.ClaimDeliveries(ctx, later, 10, 1, time.Minute)
	if len(one) != 1 {
		t.Fatalf("claimed %d", len(one))
	}
	disabled, err = st.RecordOutcomes(ctx, []webhook.Outcome{{DeliveryID: one[0].ID, WebhookID: all.ID, At: later, Tried: true,
		Error: "no answer within 5s", Next: &later}}, later, time.Hour)
	if err != nil || len(disabled) != 1 || disabled[0] != all.ID {
		t.Fatalf("disabled %v (%v), want %s", disabled, err, all.ID)
	}
	h, _ := st.GetWebhook(ctx, user, all.ID)
	if h.State != webhook.Disabled || h.DisabledAt == nil || h.DisabledReason == "" {
		t.Fatalf("disabled webhook: %+v", h)
	}
	got, _ = st.ListDeliveries(ctx, user, all.ID, 10)
	for _, d := range got {
		if d.State != webhook.Failed || d.FinishedAt == nil {
			t.Fatalf("a disabled webhook's delivery: %+v", d)
		}
	}
	if n, _ := st.EnqueueDeliveries(ctx, []webhook.Event{hookEvent(user, webhook.TaskCreated, later)}, later); n != 1 {
		t.Fatalf("a new event queued %d deliveries, want only the late webhook's", n)
	}
	if next, err := st.NextDeliveryAt(ctx); err != nil || next == nil || !next.Equal(later) {
		t.Fatalf("next delivery at %v (%v)", next, err)
	}
	if n, err := st.PruneDeliveries(ctx, later.Add(time.Second), 100); err != nil || n != 3 {
		t.Fatalf("pruned %d (%v), want the 3 finished", n, err)
	}

	// A failed attempt holds back the webhook's other deliveries until its
	// retry, which then come oldest first.
	backlog := newHook(t, st, other, t0, webhook.TaskCreated)
	var queued []webhook.Event
	for i := range 3 {
		queued = append(queued, hookEvent(other, webhook.TaskCreated, later.Add(time.Duration(i)*time.Millisecond)))
	}
	if _, err := st.EnqueueDeliveries(ctx, queued, later); err != nil {
		t.Fatal(err)
	}
	head, _ := st.ClaimDeliveries(ctx, later, 10, 1, time.Second)
	head = slices.DeleteFunc(head, func(d webhook.Send) bool { return d.WebhookID != backlog.ID })
	if len(head) != 1 || head[0].EventID != queued[0].ID {
		t.Fatalf("claimed %+v, want the oldest of the backlog", head)
	}
	retry := later.Add(time.Hour)
	if _, err := st.RecordOutcomes(ctx, []webhook.Outcome{{DeliveryID: head[0].ID, WebhookID: backlog.ID, At: later, Tried: true,
		Error: "HTTP 500", Next: &retry}}, later, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{later.Add(2 * time.Second), retry.Add(-time.Second)} {
		if due, _ := st.ClaimDeliveries(ctx, at, 10, 10, time.Second); slices.ContainsFunc(due, func(d webhook.Send) bool { return d.WebhookID == backlog.ID }) {
			t.Fatalf("at %s a delivery of the failing webhook was taken before its retry", at)
		}
	}
	due, _ := st.ClaimDeliveries(ctx, retry, 10, 10, time.Second)
	due = slices.DeleteFunc(due, func(d webhook.Send) bool { return d.WebhookID != backlog.ID })
	if len(due) != 3 || due[0].EventID != queued[0].ID || due[1].EventID != queued[1].ID || due[2].EventID != queued[2].ID {
		t.Fatalf("at the retry: %d deliveries, want the 3 in their events' order", len(due))
	}
	// Their sender died: the k-th comes back k leases later, in order.
	for k := range 3 {
		back, _ := st.ClaimDeliveries(ctx, retry.Add(time.Duration(k+1)*time.Second), 10, 10, time.Hour)
		back = slices.DeleteFunc(back, func(d webhook.Send) bool { return d.WebhookID != backlog.ID })
		if len(back) != 1 || back[0].EventID != queued[k].ID {
			t.Fatalf("%d leases after the claim: %d came back, want the delivery of event %d", k+1, len(back), k+1)
		}
	}
}
