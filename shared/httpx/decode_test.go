package httpx

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/todoevents/todo/shared/apperr"
)

type sample struct {
	Name  *string  `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, ctype string
		allowEmpty        bool
		code              apperr.Code
		field             string
	}{
		{"valid", `{"name":"a","count":2}`, "application/json", false, "", ""},
		{"charset", `{"name":"a"}`, "application/json; charset=utf-8", false, "", ""},
		{"empty allowed", ``, "", true, "", ""},
		{"empty refused", `  `, "application/json", false, apperr.Invalid, ""},
		{"form content type", `{"name":"a"}`, "application/x-www-form-urlencoded", false, apperr.Invalid, ""},
		{"unknown field", `{"nam":"a"}`, "", false, apperr.Invalid, "nam"},
		{"wrong type", `{"count":"two"}`, "", false, apperr.Invalid, "count"},
		{"array", `[1]`, "", false, apperr.Invalid, ""},
		{"trailing garbage", `{"name":"a"} x`, "", false, apperr.Invalid, ""},
		{"truncated", `{"name":"a"`, "", false, apperr.Invalid, ""},
		{"invalid utf-8", "{\"name\":\"\xc3\x28\"}", "", false, apperr.Invalid, ""},
		{"too large", `{"name":"` + strings.Repeat("a", MaxBody) + `"}`, "", false, apperr.TooLarge, ""},
		// Parsers disagree on which of two values wins: refused, not guessed.
		{"duplicate key", `{"name":"a","count":1,"name":"b"}`, "", false, apperr.Invalid, "name"},
		{"duplicate key, escaped", `{"name":"a","n\u0061me":"b"}`, "", false, apperr.Invalid, "name"},
		{"wrong case", `{"NAME":"a"}`, "", false, apperr.Invalid, "NAME"},
		{"title case", `{"Count":1}`, "", false, apperr.Invalid, "Count"},
		{"wrong type inside an array", `{"tags":["a",3]}`, "", false, apperr.Invalid, "tags"},
		{"null for a number", `{"count":null}`, "", false, "", ""},
		{"a string", `"x"`, "", false, apperr.Invalid, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			var s sample
			_, err := DecodeJSON(r, &s, tc.allowEmpty)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if e := apperr.As(err); e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("got %v (field %q), want %s %q", err, e.Field, tc.code, tc.field)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	t.Parallel()
	cases := map[apperr.Code]int{
		apperr.Invalid: 400, apperr.Unauthorized: 401, apperr.Forbidden: 403, apperr.NotFound: 404,
		apperr.MethodNotAllowed: 405, apperr.Conflict: 409, apperr.StaleVersion: 412, apperr.KeyReused: 422, apperr.TooLarge: 413, apperr.RateLimited: 429,
		apperr.Unavailable: 503, apperr.Internal: 500, apperr.Code("bogus"): 500,
	}
	for code, want := range cases {
		if got := StatusOf(code); got != want {
			t.Errorf("StatusOf(%q) = %d, want %d", code, got, want)
		}
	}
}
