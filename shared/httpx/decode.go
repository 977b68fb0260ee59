package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/todoevents/todo/shared/apperr"
)

// MaxBody is the largest request body accepted.
const MaxBody = 64 << 10

// DecodeJSON reads r's body as one JSON object into dst, rejecting unknown
// fields, trailing data, invalid UTF-8 and bodies over MaxBody. An empty
// body is allowed only when allowEmpty is set (then dst is untouched and
// false is returned).
func DecodeJSON(r *http.Request, dst any, allowEmpty bool) (bool, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return false, apperr.Wrap(apperr.Invalid, err, "could not read request body")
	}
	if len(body) > MaxBody {
		return false, apperr.New(apperr.TooLarge, "request body exceeds %d bytes", MaxBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return false, nil
		}
		return false, apperr.New(apperr.Invalid, "request body is required")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return false, apperr.New(apperr.Invalid, "Content-Type must be application/json")
	}
	if !utf8.Valid(body) {
		return false, apperr.New(apperr.Invalid, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return false, jsonError(err)
	}
	if dec.More() {
		return false, apperr.New(apperr.Invalid, "request body must hold a single JSON object")
	}
	return true, nil
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return apperr.New(apperr.Invalid, "request body must be a JSON object")
		}
		return apperr.Field(field, "must be of JSON type %s", jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return apperr.New(apperr.Invalid, "malformed JSON at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.New(apperr.Invalid, "malformed JSON: unexpected end of body")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Field(name, "unknown field")
	}
	return apperr.New(apperr.Invalid, "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	}
	return "number"
}
