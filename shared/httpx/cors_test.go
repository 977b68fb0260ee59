package httpx

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	cases := []struct {
		name, origin    string
		origins         []string
		wantAllow       string
		wantCredentials string
		preflight       bool
		wantPreflightOK bool
	}{
		{"listed origin", "http://app.example", []string{"http://app.example"}, "http://app.example", "true", false, false},
		{"listed origin preflight", "http://app.example", []string{"http://app.example"}, "http://app.example", "true", true, true},
		{"unlisted origin", "http://evil.example", []string{"http://app.example"}, "", "", false, false},
		{"wildcard never with credentials", "http://evil.example", []string{"*"}, "*", "", false, false},
		{"wildcard beside a listed origin", "http://app.example", []string{"http://app.example", "*"}, "*", "", true, true},
		{"no origins configured", "http://app.example", nil, "", "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/api/u/tasks", nil)
			if tc.preflight {
				r.Method = http.MethodOptions
				r.Header.Set("Access-Control-Request-Method", http.MethodPost)
			}
			r.Header.Set("Origin", tc.origin)
			rec := httptest.NewRecorder()
			CORS(tc.origins)(ok).ServeHTTP(rec, r)
			h := rec.Header()
			if h.Get("Access-Control-Allow-Origin") != tc.wantAllow || h.Get("Access-Control-Allow-Credentials") != tc.wantCredentials {
				t.Fatalf("allow origin %q credentials %q; want %q %q", h.Get("Access-Control-Allow-Origin"),
					h.Get("Access-Control-Allow-Credentials"), tc.wantAllow, tc.wantCredentials)
			}
			if tc.wantPreflightOK && (rec.Code/100 != 2 || h.Get("Access-Control-Allow-Methods") == "") {
				t.Fatalf("preflight: %d %v", rec.Code, h)
			}
		})
	}
}
