package allinone

import (
	"net"
	"net/http"
	"regexp"
	"time"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/testkit"
)

// devUser is what the development sign-in accepts as a user name.
var devUser = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// devSignIn is the web app's sign-in for `make run` only: POST /dev/sign-in
// {"user": "alice"} mints a day's token for that name with the local
// secret. It exists in this development server alone; no function binary
// has it, so in production the page asks for a token instead. It signs in
// anyone as anyone, so it answers only clients on this machine (loopback),
// whatever address the server listens on.
func devSignIn(secret []byte) httpx.Route {
	return httpx.Route{Method: http.MethodPost, Pattern: "/dev/sign-in", Handler: func(w http.ResponseWriter, r *http.Request) error {
		if !fromLoopback(r) {
			return apperr.New(apperr.Forbidden, "the development sign-in answers only on the machine that runs it.")
		}
		var in struct {
			User string `json:"user"`
		}
		if _, err := httpx.DecodeJSON(r, &in, false); err != nil {
			return err
		}
		if !devUser.MatchString(in.User) {
			return apperr.Field("user", "must be 1 to 64 letters, digits, '.', '_' or '-'")
		}
		tok, err := testkit.SignToken(secret, in.User, time.Now(), 24*time.Hour)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"user": in.User, "token": tok, "note": "development only"})
		return nil
	}}
}

// fromLoopback reports whether r came from this machine.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
