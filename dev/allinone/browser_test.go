package allinone_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/todoevents/todo/shared/testkit"
)

// browser starts headless Chromium for the test; each tab it opens is a
// page of its own (its own sessionStorage, so its own signed-in user).
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("no Chromium on PATH (Debian: chromium; make test's bootstrap installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1280, 900))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	return alloc
}

// tab is one browser page that records console errors and uncaught
// exceptions, and accepts confirm() dialogs.
type tab struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func openTab(t *testing.T, alloc context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	// A bound on a hung browser, not a speed target: the tab lives through
	// the whole walk, which other test binaries share two cores with.
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatal(err)
	}
	tb := &tab{ctx: ctx}
	messages := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// Answers the API gives on purpose (a 400 for an invalid title)
			// are logged by the browser's network layer; they are not errors
			// of the page.
			if m.IsException() || (m.Type == "error" && m.Source != "network") {
				tb.mu.Lock()
				tb.errors = append(tb.errors, m.String())
				tb.mu.Unlock()
			}
		}
	}()
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return tb
}

func (tb *tab) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// click clicks the element sel finds in the task list, again if the list
// was redrawn between finding and clicking it (each event reloads it).
func (tb *tab) click(t *testing.T, what, sel string) {
	t.Helper()
	if err := retried(func() error { return chromedp.Do(tb.ctx, chromedp.Click(sel)) }); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// edit opens the task form on the task sel finds, again when the click
// met the list in the middle of a redraw and the form did not open.
func (tb *tab) edit(t *testing.T, sel string) {
	t.Helper()
	err := retried(func() error {
		if err := chromedp.Do(tb.ctx, chromedp.Click(sel+`//button[text()="Edit"]`)); err != nil {
			return err
		}
		wait, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
		defer cancel()
		return chromedp.Do(wait, chromedp.WaitVisible(chromedp.ID("task-dialog")))
	})
	if err != nil {
		t.Fatalf("open the form to edit %s: %v", sel, err)
	}
}

// cancelForm closes the task form with its Cancel button, again when the
// click missed it: a message or preview the server answers can grow the
// form between the button's position being read and the click landing,
// and a click beside a modal dialog does nothing.
func (tb *tab) cancelForm(t *testing.T) {
	t.Helper()
	err := retried(func() error {
		wait, cancel := context.WithTimeout(tb.ctx, 3*time.Second)
		defer cancel()
		open, err := chromedp.Run(wait, chromedp.Evaluate[bool](`document.querySelector("#task-dialog").open`))
		if err != nil || !open { // closed by the click before: nothing to click
			return err
		}
		if err := chromedp.Do(wait, chromedp.Click(chromedp.ID("cancel"))); err != nil {
			return err
		}
		return chromedp.Do(wait, chromedp.WaitNotVisible(chromedp.ID("task-dialog")))
	})
	if err != nil {
		t.Fatalf("cancel the form: %v", err)
	}
}

// get reads what action reads from the page, again when the node it found
// was redrawn before it was read.
func get[T any](t *testing.T, tb *tab, what string, action chromedp.Action[T]) T {
	t.Helper()
	var v T
	if err := retried(func() (err error) { v, err = chromedp.Run(tb.ctx, action); return err }); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// listText reads the text of the element sel finds in the task list. A
// node the list's redraw detached between finding and reading it reads as
// empty: then it is found again.
func (tb *tab) listText(t *testing.T, what, sel string) string {
	t.Helper()
	var v string
	err := retried(func() (err error) {
		if v, err = chromedp.Run(tb.ctx, chromedp.Text(sel)); err == nil && v == "" {
			err = errors.New("no text (a node the list's redraw replaced)")
		}
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitText waits up to 10 s for the text of sel to contain want, and
// returns it (what the server answers arrives a moment after an input).
func waitText[S chromedp.Selectable](t *testing.T, tb *tab, what string, sel S, want string) string {
	t.Helper()
	var v string
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, _ = chromedp.Run(tb.ctx, chromedp.Text(sel))
		if strings.Contains(v, want) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q, want it to say %q", what, v, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// retried runs act until it succeeds, up to ten times 100 ms apart: an
// event can redraw the list between finding a node and using it.
func retried(act func() error) (err error) {
	for range 10 {
		if err = act(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func (tb *tab) noErrors(t *testing.T) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.errors) > 0 {
		t.Fatalf("errors in the page: %v", tb.errors)
	}
}

// screenshot saves the page as name.png among the test's artifacts.
func (tb *tab) screenshot(t *testing.T, dir, name string) {
	t.Helper()
	png := get(t, tb, "screenshot "+name, chromedp.FullScreenshot(100) /* 100: PNG */)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func signIn(t *testing.T, tb *tab, user string) {
	t.Helper()
	tb.do(t, "sign in as "+user,
		chromedp.Navigate(env.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("sign-in-user")),
		chromedp.SendKeys(chromedp.ID("sign-in-user"), user),
		chromedp.Click(chromedp.CSS(`#sign-in button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("app-view")),
		chromedp.WaitVisible(chromedp.CSS("#live.on")),
		// A marker that a reload would wipe: updates must come without one.
		chromedp.Evaluate[chromedp.Void](`window.__noReload = true`))
}

// taskItem selects the list item titled title.
func taskItem(title string) string {
	return fmt.Sprintf(`//li[contains(@class,"task")][.//p[@class="title" and text()=%q]]`, title)
}

// TestWebApp drives the web app in a real headless Chromium against the
// whole system: sign in, create a daily task in Tokyo time, complete it and
// see its next occurrence appear with the right local due date without a
// reload, edit, reopen and delete; the API's message beside an invalid
// title; another user's page sees none of it; no console errors.
func TestWebApp(t *testing.T) {
	t.Parallel()
	shots := os.Getenv("SCREENSHOTS_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	alloc := browser(t)
	ann, bob := openTab(t, alloc), openTab(t, alloc)
	annName, bobName := "ann-"+testkit.User()[5:13], "bob-"+testkit.User()[5:13]
	signIn(t, ann, annName)
	signIn(t, bob, bobName)

	// A daily task due tomorrow 09:00 in Tokyo, counted on the schedule.
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	due := time.Now().In(tokyo).AddDate(0, 0, 1)
	dueValue := due.Format("2006-01-02") + "T09:00"
	ann.do(t, "create a task",
		chromedp.Click(chromedp.ID("new-task")),
		chromedp.WaitVisible(chromedp.ID("task-dialog")),
		chromedp.SendKeys(chromedp.ID("f-title"), "Water the plants"),
		chromedp.SendKeys(chromedp.ID("f-tags"), "home, garden"),
		chromedp.SetValue(chromedp.ID("f-due"), dueValue),
		chromedp.SetValue(chromedp.ID("f-timezone"), "Asia/Tokyo"),
		chromedp.SetValue(chromedp.ID("f-recurring"), "daily"),
		chromedp.SetValue(chromedp.ID("f-basis"), "schedule"), // the next one is due the day after, whenever it is done
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#f-recurring").dispatchEvent(new Event("input"))`))
	preview := waitText(t, ann, "the preview", chromedp.ID("preview"), "Next:")
	if strings.Count(preview, "09:00") != 3 || !strings.Contains(preview, "Asia/Tokyo") || !strings.HasPrefix(preview, "Every day") {
		t.Fatalf("preview %q, want every day, three 09:00 dates in Asia/Tokyo", preview)
	}
	ann.screenshot(t, shots, "task-form")
	ann.do(t, "save it",
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitNotVisible(chromedp.ID("task-dialog")),
		chromedp.WaitVisible(taskItem("Water the plants")))
	dueText := ann.listText(t, "the due date", taskItem("Water the plants")+`//span[contains(@class,"due")]`)
	if !strings.Contains(dueText, "09:00") || !strings.Contains(dueText, "Asia/Tokyo") || !strings.Contains(dueText, fmt.Sprint(due.Day())) {
		t.Fatalf("due shown as %q, want %d at 09:00 (Asia/Tokyo)", dueText, due.Day())
	}

	// Completing it: the next occurrence arrives through the event stream.
	// The list the click reloads (read before the occurrence exists) is
	// answered late on purpose: the newer lists the events load must win.
	ann.do(t, "slow down the next list", chromedp.Evaluate[chromedp.Void](`(() => {
		const fetch = window.fetch; let first = true;
		window.fetch = (url, init) => {
			const answer = fetch(url, init);
			if (!first || !String(url).includes("/tasks?")) return answer;
			first = false;
			return answer.then((r) => new Promise((done) => setTimeout(() => done(r), 700)));
		};
	})()`))
	start := time.Now()
	next := due.AddDate(0, 0, 1)
	ann.click(t, "complete it", taskItem("Water the plants")+`//input[@type="checkbox"]`)
	nextItem := fmt.Sprintf(`//li[contains(@class,"task")][@data-due=%q]`, next.Format("2006-01-02")+"T09:00")
	wait, cancel := context.WithTimeout(ann.ctx, 30*time.Second)
	err := chromedp.Do(wait, chromedp.WaitVisible(nextItem))
	cancel()
	if err != nil {
		t.Fatalf("see the next occurrence: %v\n%s", err, whyNotShown(ann, annName))
	}
	t.Logf("next occurrence shown %v after the click", time.Since(start).Round(time.Millisecond))
	time.Sleep(time.Until(start.Add(time.Second)))
	if n := get(t, ann, "the next occurrence, after the slow list", chromedp.Evaluate[int](
		fmt.Sprintf(`document.evaluate(%q, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null).snapshotLength`, nextItem))); n != 1 {
		t.Fatalf("the late answer to an older list hid the next occurrence (%d shown)\n%s", n, whyNotShown(ann, annName))
	}
	noReload := get(t, ann, "the marker", chromedp.Evaluate[bool](`window.__noReload === true`))
	ann.do(t, "events shown", chromedp.WaitVisible(chromedp.CSS("#activity li.completed")))
	activity := get(t, ann, "the activity", chromedp.Text(chromedp.ID("activity")))
	if !noReload || !strings.Contains(activity, "completed") || !strings.Contains(activity, "created") {
		t.Fatalf("reloaded: %v; activity %q", !noReload, activity)
	}
	ann.screenshot(t, shots, "live-view")
	ann.click(t, "its series", taskItem("Water the plants")+`//button[text()="Series"]`)
	ann.do(t, "the series shown", chromedp.WaitVisible(chromedp.CSS("#chain-dialog li + li")))
	series := get(t, ann, "the series", chromedp.Text(chromedp.ID("chain")))
	if strings.Count(series, "Water the plants") != 2 || !strings.Contains(series, "✓") {
		t.Fatalf("series %q, want the completed task and its next occurrence", series)
	}
	ann.do(t, "close the series", chromedp.Click(chromedp.CSS("#chain-dialog button")),
		chromedp.WaitNotVisible(chromedp.ID("chain-dialog")))

	// Edit the new occurrence; an invalid title shows the API's message.
	ann.edit(t, taskItem("Water the plants"))
	ann.do(t, "edit the title",
		chromedp.SetValue(chromedp.ID("f-title"), "Water the orchids"),
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(taskItem("Water the orchids")))
	ann.do(t, "an invalid title",
		chromedp.Click(chromedp.ID("new-task")),
		chromedp.WaitVisible(chromedp.ID("task-dialog")),
		chromedp.SetValue(chromedp.ID("f-title"), "   "),
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(chromedp.CSS(`.error[data-for="title"]:not(:empty)`)))
	titleError := get(t, ann, "the title's error", chromedp.Text(chromedp.CSS(`.error[data-for="title"]`)))
	if !strings.Contains(titleError, "title") && !strings.Contains(titleError, "empty") {
		t.Fatalf("title error %q", titleError)
	}
	ann.screenshot(t, shots, "field-error")
	ann.cancelForm(t)

	// Reopen the completed one from the Done tab, then delete it.
	ann.do(t, "the done tab",
		chromedp.Click(chromedp.CSS(`.tabs button[data-status="done"]`)),
		chromedp.WaitVisible(taskItem("Water the plants")))
	ann.click(t, "reopen", taskItem("Water the plants")+`//input[@type="checkbox"]`)
	ann.do(t, "the pending tab",
		chromedp.WaitNotPresent(taskItem("Water the plants")),
		chromedp.Click(chromedp.CSS(`.tabs button[data-status="pending"]`)),
		chromedp.WaitVisible(taskItem("Water the plants")))
	ann.click(t, "delete", taskItem("Water the plants")+`//button[text()="Delete"]`)
	ann.do(t, "deleted",
		chromedp.WaitNotPresent(taskItem("Water the plants")),
		chromedp.WaitVisible(chromedp.CSS(`#activity li.deleted`)))

	// Bob, signed in all along in another page, saw none of it.
	bob.do(t, "the other user's page", chromedp.Sleep(500*time.Millisecond))
	bobTasks := get(t, bob, "bob's tasks", chromedp.Evaluate[int](`document.querySelectorAll("#tasks li").length`))
	bobActivity := get(t, bob, "bob's events", chromedp.Evaluate[int](`document.querySelectorAll("#activity li").length`))
	if bobTasks != 0 || bobActivity != 0 {
		t.Fatalf("bob sees %d tasks and %d events of ann's", bobTasks, bobActivity)
	}
	ann.noErrors(t)
	bob.noErrors(t)
}

// whyNotShown says, for a failed wait, what the database holds for user
// (tasks, their events in the outbox) and what the page shows, so a
// failure tells the pipeline from the page.
func whyNotShown(tb *tab, user string) string {
	var b strings.Builder
	ctx := context.Background()
	rows, err := env.db.Query(ctx, `SELECT id, status, due_date, COALESCE(parent_task_id::text, '-') FROM tasks
		WHERE user_id = $1 ORDER BY created_at`, user)
	if err == nil {
		for rows.Next() {
			var id, status, parent string
			var due *time.Time
			_ = rows.Scan(&id, &status, &due, &parent)
			fmt.Fprintf(&b, "task %s %s due %v parent %v\n", id, status, due, parent)
		}
		rows.Close()
	}
	rows, err = env.db.Query(ctx, `SELECT event->>'type', seq NOT IN (SELECT seq FROM outbox_waiting), failed_at IS NOT NULL
		FROM outbox WHERE partition_key = $1 ORDER BY seq`, user)
	if err == nil {
		for rows.Next() {
			var typ string
			var published, failed bool
			_ = rows.Scan(&typ, &published, &failed)
			fmt.Fprintf(&b, "outbox %s published %v failed %v\n", typ, published, failed)
		}
		rows.Close()
	}
	if err != nil {
		fmt.Fprintf(&b, "database: %v\n", err)
	}
	page, err := chromedp.Run(context.WithoutCancel(tb.ctx), chromedp.Evaluate[string](
		`document.querySelector("#live").className + " | " + [...document.querySelectorAll("li.task")].map(li => li.dataset.due + " " + li.innerText.replace(/\s+/g, " ")).join(" || ")`))
	fmt.Fprintf(&b, "page: %s %v", page, err)
	return b.String()
}

// TestWebAppRuleEditor builds a rule with the form's choices (every week on
// Monday, Wednesday and Friday, 3 times, on the schedule), sees the
// server's words and dates for it, saves it, completes and skips
// occurrences and sees each next one arrive on the rule's day; a rule that
// yields no date shows the API's message beside the rule.
func TestWebAppRuleEditor(t *testing.T) {
	t.Parallel()
	alloc := browser(t)
	page := openTab(t, alloc)
	name := "carl-" + testkit.User()[5:13]
	signIn(t, page, name)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	monday := time.Now().In(berlin).AddDate(0, 0, 1)
	for monday.Weekday() != time.Monday {
		monday = monday.AddDate(0, 0, 1)
	}
	day := func(d time.Time) string { return d.Format("2006-01-02") + "T09:00" }
	page.do(t, "a rule from the choices",
		chromedp.Click(chromedp.ID("new-task")),
		chromedp.WaitVisible(chromedp.ID("task-dialog")),
		chromedp.SendKeys(chromedp.ID("f-title"), "Stand-up"),
		chromedp.SetValue(chromedp.ID("f-due"), day(monday)),
		chromedp.SetValue(chromedp.ID("f-timezone"), "Europe/Berlin"),
		chromedp.SetValue(chromedp.ID("f-recurring"), "weekly"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#f-recurring").dispatchEvent(new Event("input"))`),
		chromedp.SetValue(chromedp.ID("f-basis"), "schedule"),
		chromedp.Click(chromedp.CSS(`#f-weekdays [data-day="MO"]`)),
		chromedp.Click(chromedp.CSS(`#f-weekdays [data-day="WE"]`)),
		chromedp.Click(chromedp.CSS(`#f-weekdays [data-day="FR"]`)),
		chromedp.SetValue(chromedp.ID("f-ends"), "count"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#f-ends").dispatchEvent(new Event("input"))`),
		chromedp.SetValue(chromedp.ID("f-count"), "3"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#f-count").dispatchEvent(new Event("input"))`))
	said := waitText(t, page, "the preview", chromedp.ID("preview"), "Every week on Monday, Wednesday and Friday, 3 times. Next:")
	wed := monday.AddDate(0, 0, 2)
	if !strings.Contains(said, fmt.Sprint(wed.Day())) || strings.Count(said, "09:00") != 2 {
		t.Fatalf("preview %q, want the Wednesday %d and the Friday after, at 09:00", said, wed.Day())
	}
	if rule := get(t, page, "the rule", chromedp.Evaluate[string](`document.querySelector("#f-rule").value`)); rule != "FREQ=WEEKLY;COUNT=3;BYDAY=MO,WE,FR" {
		t.Fatalf("rule %q", rule)
	}
	if dir := os.Getenv("SCREENSHOTS_DIR"); dir != "" {
		page.screenshot(t, dir, "rule-editor")
	}
	page.do(t, "save it", chromedp.Click(chromedp.ID("save")), chromedp.WaitNotVisible(chromedp.ID("task-dialog")),
		chromedp.WaitVisible(taskItem("Stand-up")))
	if badge := page.listText(t, "the badge", taskItem("Stand-up")+`//span[contains(text(),"repeats")]`); badge != "repeats by rule · #1" {
		t.Fatalf("badge %q", badge)
	}
	at := func(d time.Time) string {
		return fmt.Sprintf(`//li[contains(@class,"task")][@data-due=%q]`, day(d))
	}
	page.click(t, "complete Monday's", at(monday)+`//input[@type="checkbox"]`)
	page.do(t, "Wednesday's arrives", chromedp.WaitVisible(at(wed)))
	page.click(t, "skip Wednesday's", at(wed)+`//button[text()="Skip"]`)
	page.do(t, "Friday's arrives", chromedp.WaitVisible(at(monday.AddDate(0, 0, 4))))
	page.do(t, "the skipped tab",
		chromedp.Click(chromedp.CSS(`.tabs button[data-status="skipped"]`)),
		chromedp.WaitVisible(at(wed)+`//span[text()="skipped"]`),
		chromedp.Click(chromedp.CSS(`.tabs button[data-status="pending"]`)))
	page.do(t, "a rule that yields no date",
		chromedp.Click(chromedp.ID("new-task")),
		chromedp.WaitVisible(chromedp.ID("task-dialog")),
		chromedp.SetValue(chromedp.ID("f-rule"), "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#f-rule").dispatchEvent(new Event("input"))`))
	waitText(t, page, "the rule's error", chromedp.CSS(`.error[data-for="recurrence_rule"]`), "yields no date")
	page.cancelForm(t)
	page.noErrors(t)
}

// TestWebAppReminders sets reminders in the task form, sees them on the
// task with their state, sees one that was already due fire (through the
// whole system's scheduler, relay and live stream) as a banner and then as
// sent on its task, and a bad duration's message beside the field.
func TestWebAppReminders(t *testing.T) {
	t.Parallel()
	alloc := browser(t)
	page := openTab(t, alloc)
	signIn(t, page, "rita-"+testkit.User()[5:13])
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	due := time.Now().In(tokyo).Add(2 * time.Hour).Format("2006-01-02T15:04")
	page.do(t, "a task with two reminders",
		chromedp.Click(chromedp.ID("new-task")),
		chromedp.WaitVisible(chromedp.ID("task-dialog")),
		chromedp.SendKeys(chromedp.ID("f-title"), "Pick up the parcel"),
		chromedp.SetValue(chromedp.ID("f-due"), due),
		chromedp.SetValue(chromedp.ID("f-timezone"), "Asia/Tokyo"),
		chromedp.SendKeys(chromedp.ID("f-reminders"), "pt15m, P1D"),
		chromedp.Click(chromedp.ID("save")), chromedp.WaitNotVisible(chromedp.ID("task-dialog")),
		chromedp.WaitVisible(taskItem("Pick up the parcel")))
	item := taskItem("Pick up the parcel")
	// P1D before a due date two hours ahead was due a day ago: within the
	// allowed lateness, so it fires at once, late, into the page's stream.
	waitText(t, page, "the reminder's banner", chromedp.CSS(`#reminders-banner .reminder-note`), "Pick up the parcel")
	waitText(t, page, "the banner says late", chromedp.CSS(`#reminders-banner .reminder-note`), "(late)")
	page.do(t, "dismiss the banner",
		chromedp.Click(chromedp.CSS(`#reminders-banner .reminder-note button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#reminders-banner .reminder-note`)))
	testkit.Eventually(t, "the reminder ahead shown", 10*time.Second, func() bool {
		return strings.Contains(page.listText(t, "the reminder badges", item), "PT15M before · scheduled")
	})
	// A reload shows it sent.
	testkit.Eventually(t, "the due reminder sent", 15*time.Second, func() bool {
		page.do(t, "reload the list", chromedp.Click(chromedp.CSS(`.tabs button[data-status="pending"]`)))
		return strings.Contains(page.listText(t, "the reminder badges", item), "P1D before · sent")
	})
	page.edit(t, item)
	page.do(t, "a length with no fixed size",
		chromedp.SetValue(chromedp.ID("f-reminders"), "P1M"),
		chromedp.Click(chromedp.ID("save")))
	waitText(t, page, "the reminder's error", chromedp.CSS(`.error[data-for="reminders"]`), "no fixed length")
}
