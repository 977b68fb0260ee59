package auth

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/todoevents/todo/shared/apperr"
)

func TestAuthorize(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	v := Verifier{Secret: secret, Now: func() time.Time { return now }}
	issue := func(key []byte, at time.Time) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "alice",
			IssuedAt: jwt.NewNumericDate(at), ExpiresAt: jwt.NewNumericDate(at.Add(time.Hour))}).SignedString(key)
		return s
	}
	good := issue(secret, now)
	expired := issue(secret, now.Add(-2*time.Hour))
	foreign := issue([]byte("another-secret-another-secret!!"), now)
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice"}).SignedString(secret)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix()}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	signed := func(c jwt.MapClaims) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
		return s
	}
	exp := now.Add(time.Hour).Unix()
	stringExp := signed(jwt.MapClaims{"sub": "alice", "exp": "9999999999"})
	futureIat := signed(jwt.MapClaims{"sub": "alice", "exp": exp, "iat": now.Add(time.Hour).Unix()})
	skewedIat := signed(jwt.MapClaims{"sub": "alice", "exp": exp, "iat": now.Add(10 * time.Second).Unix()})
	futureNbf := signed(jwt.MapClaims{"sub": "alice", "exp": exp, "nbf": now.Add(time.Hour).Unix()})
	stringIat := signed(jwt.MapClaims{"sub": "alice", "exp": exp, "iat": "1"})
	withCrit := func(crit any) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": exp, "zzz": 1})
		tok.Header["crit"] = crit
		s, _ := tok.SignedString(secret)
		return s
	}
	cases := []struct {
		name, header, user string
		want               apperr.Code
	}{
		{"valid", "Bearer " + good, "alice", ""},
		{"lower-case scheme", "bearer " + good, "alice", ""},
		{"other user's path", "Bearer " + good, "bob", apperr.Forbidden},
		{"missing header", "", "alice", apperr.Unauthorized},
		{"basic scheme", "Basic abc", "alice", apperr.Unauthorized},
		{"expired", "Bearer " + expired, "alice", apperr.Unauthorized},
		{"wrong secret", "Bearer " + foreign, "alice", apperr.Unauthorized},
		{"no exp", "Bearer " + noExp, "alice", apperr.Unauthorized},
		{"alg none", "Bearer " + none, "alice", apperr.Unauthorized},
		{"garbage", "Bearer not.a.jwt", "alice", apperr.Unauthorized},
		{"exp as a string", "Bearer " + stringExp, "alice", apperr.Unauthorized},
		{"iat as a string", "Bearer " + stringIat, "alice", apperr.Unauthorized},
		{"issued in the future", "Bearer " + futureIat, "alice", apperr.Unauthorized},
		{"iat within the leeway", "Bearer " + skewedIat, "alice", ""},
		{"not valid yet", "Bearer " + futureNbf, "alice", apperr.Unauthorized},
		{"an unknown critical header", "Bearer " + withCrit([]string{"zzz"}), "alice", apperr.Unauthorized},
		{"an empty crit list", "Bearer " + withCrit([]string{}), "alice", apperr.Unauthorized},
		{"a malformed crit", "Bearer " + withCrit("zzz"), "alice", apperr.Unauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			err := v.Authorize(r, tc.user)
			if tc.want == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tc.want != "" && apperr.CodeOf(err) != tc.want {
				t.Fatalf("got %v, want code %s", err, tc.want)
			}
		})
	}
}
