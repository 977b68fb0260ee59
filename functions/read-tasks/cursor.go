package function

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/task"
)

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
	parts := []string{string(q.Status), string(q.Priority), strings.Join(tags, ","),
		q.Search, due[0], due[1], flag(q.Overdue), flag(q.Recurring), q.ParentTaskID, q.Sort,
		strconv.FormatBool(q.Desc)}
	if q.Archived { // only then, so the cursors made before archiving existed stay valid
		parts = append(parts, "archived")
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
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

// chainCursor is a chain page's cursor: the position of its last link.
type chainCursor struct {
	Position int `json:"p"`
}

func encodeChainCursor(position int) string {
	b, _ := json.Marshal(chainCursor{position}) // an int: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseChain reads a chain's query string: limit (1 to
// contract.MaxChainLimit, contract.DefaultChainLimit by default) and the
// cursor of the page before.
func parseChain(raw string) (contract.ChainQuery, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return contract.ChainQuery{}, apperr.New(apperr.Invalid, "malformed query string")
	}
	cq := contract.ChainQuery{After: -1, Limit: contract.DefaultChainLimit}
	for name, values := range q {
		v := strings.TrimSpace(values[0])
		switch {
		case len(values) > 1:
			return cq, apperr.Field(name, "must be given once")
		case name == "limit":
			if cq.Limit, err = strconv.Atoi(v); err != nil || cq.Limit < 1 || cq.Limit > contract.MaxChainLimit {
				return cq, apperr.Field("limit", "must be a number from 1 to %d", contract.MaxChainLimit)
			}
		case name == "cursor":
			var c chainCursor
			b, err := base64.RawURLEncoding.DecodeString(v)
			if err == nil {
				err = json.Unmarshal(b, &c)
			}
			if err != nil || c.Position < 0 {
				return cq, apperr.Field("cursor", "is not a cursor this API made (use X-Next-Cursor or the Link header as given)")
			}
			cq.After = c.Position
		default:
			return cq, apperr.Field(name, "unknown query parameter (known: limit, cursor)")
		}
	}
	return cq, nil
}
