package auth

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Leeway is the clock skew tolerated on exp, nbf and iat.
const Leeway = 30 * time.Second

// claims are the registered claims with the time claims held to RFC 7519's
// NumericDate: a JSON number. The library alone also accepts a string.
type claims struct {
	jwt.RegisteredClaims
	Exp numericDate `json:"exp"`
	Nbf numericDate `json:"nbf"`
	Iat numericDate `json:"iat"`
}

func (c claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.Exp.date, nil }
func (c claims) GetNotBefore() (*jwt.NumericDate, error)      { return c.Nbf.date, nil }
func (c claims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.Iat.date, nil }

// numericDate is a time claim that must be a JSON number when present.
type numericDate struct{ date *jwt.NumericDate }

var errNotNumeric = errors.New("time claims must be JSON numbers")

func (n *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] == '"' {
		return errNotNumeric
	}
	if string(b) == "null" {
		return nil
	}
	n.date = new(jwt.NumericDate)
	return n.date.UnmarshalJSON(b)
}
