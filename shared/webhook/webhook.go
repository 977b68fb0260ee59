// Package webhook is the domain of webhooks: a user's endpoint and the
// events it wants, what a registration must look like, the deliveries of
// events to it and when a failed one is tried again. Sending, signing and
// the address checks at connect time are the notify function's; storing is
// shared/store's.
package webhook

import (
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/todoevents/todo/shared/apperr"
)

// Bounds on what one user holds and sends.
const (
	// MaxPerUser is how many webhooks a user may have.
	MaxPerUser = 10
	// MaxURLLen is the longest endpoint URL accepted.
	MaxURLLen = 2048
)

// Event names a webhook subscribes to: the task events' types without
// the com.todo. prefix.
const (
	TaskCreated   = "task.created"
	TaskUpdated   = "task.updated"
	TaskCompleted = "task.completed"
	TaskSkipped   = "task.skipped"
	TaskDeleted   = "task.deleted"
	TaskReminder  = "task.reminder"
)

// Events is every event a webhook can subscribe to.
var Events = []string{TaskCreated, TaskUpdated, TaskCompleted, TaskSkipped, TaskDeleted, TaskReminder}

// typePrefix is what the CloudEvent types add to the event names.
const typePrefix = "com.todo."

// EventName is the webhook event name of a CloudEvent type, and whether a
// webhook can subscribe to it.
func EventName(cloudEventType string) (string, bool) {
	name, ok := strings.CutPrefix(cloudEventType, typePrefix)
	return name, ok && slices.Contains(Events, name)
}

// Webhook is a user's endpoint. Secret is set only in the answer to its
// creation: it signs deliveries and is never shown again.
type Webhook struct {
	ID        string    `json:"id"`
	UserID    string    `json:"-"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// State is active or disabled; a disabled webhook gets no deliveries
	// (DisabledReason says why; register it again to resume).
	State          string     `json:"state"`
	FailingSince   *time.Time `json:"failing_since"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
}

// Webhook states.
const (
	Active   = "active"
	Disabled = "disabled"
)

// Draft is a validated registration: the URL in its parsed form and the
// events, each once, in the order of Events.
type Draft struct {
	URL    *url.URL
	Events []string
}

// numericHost is a host made only of numbers (decimal, octal, 0x hex), the
// forms some resolvers read as an IPv4 address (2130706433, 0x7f.1,
// 0177.0.0.1 are all 127.0.0.1); no domain name looks like it.
var numericHost = regexp.MustCompile(`(?i)^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$`)

// ParseDraft validates a registration: an absolute http or https URL with
// a host, no credentials and no fragment, an IP address written in its
// standard form, and events from Events (at least one). Which addresses
// may be reached is checked apart (it needs the resolver and the policy).
func ParseDraft(rawURL string, events []string) (Draft, error) {
	if rawURL == "" {
		return Draft{}, apperr.Field("url", "is required")
	}
	if len(rawURL) > MaxURLLen {
		return Draft{}, apperr.Field("url", "is longer than %d characters", MaxURLLen)
	}
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		return Draft{}, apperr.Field("url", "is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return Draft{}, apperr.Field("url", "must be an http or https URL")
	case u.Opaque != "" || u.Hostname() == "":
		return Draft{}, apperr.Field("url", "must name a host (https://host/path)")
	case u.User != nil:
		return Draft{}, apperr.Field("url", "must not carry a user name or password; authenticate deliveries by their signature")
	case u.Fragment != "" || strings.Contains(rawURL, "#"):
		return Draft{}, apperr.Field("url", "must not have a fragment")
	}
	if port := u.Port(); port != "" {
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
			return Draft{}, apperr.Field("url", "has an invalid port %q", port)
		}
	}
	if host := u.Hostname(); numericHost.MatchString(host) {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
			return Draft{}, apperr.Field("url", "host %q is not an IPv4 address in dotted decimal (a.b.c.d) nor a name", host)
		}
	}
	if len(events) == 0 {
		return Draft{}, apperr.Field("events", "must name at least one of %s", strings.Join(Events, ", "))
	}
	var picked []string
	for i, e := range events {
		if !slices.Contains(Events, e) {
			return Draft{}, apperr.Field("events", "events[%d] %q is not one of %s", i, e, strings.Join(Events, ", "))
		}
		picked = append(picked, e)
	}
	var ordered []string
	for _, e := range Events {
		if slices.Contains(picked, e) {
			ordered = append(ordered, e)
		}
	}
	return Draft{URL: u, Events: ordered}, nil
}
