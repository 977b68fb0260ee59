package httpx

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/todoevents/todo/shared/apperr"
)

// MaxBody is the largest request body accepted.
const MaxBody = 64 << 10

// DecodeJSON reads r's body as one JSON object into dst, rejecting unknown
// fields (names match exactly: "TITLE" is not "title"), a field given
// twice, trailing data, invalid UTF-8 and bodies over MaxBody. An empty
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
	if err := json.Unmarshal(body, dst, json.RejectUnknownMembers(true)); err != nil {
		return false, jsonError(err)
	}
	return true, nil
}

// jsonError names what is wrong with a body the decoder refused, and the
// field where there is one. The decoder (JSON v2 semantics) matches field
// names exactly, so a name in another letter case is an unknown field, and
// refuses a name given twice, which other parsers would read differently.
func jsonError(err error) error {
	var semErr *json.SemanticError
	var synErr *jsontext.SyntacticError
	switch {
	case errors.As(err, &synErr) && errors.Is(synErr.Err, jsontext.ErrDuplicateName):
		return apperr.Field(fieldOf(synErr.JSONPointer), "appears more than once in the object")
	case errors.As(err, &synErr):
		if errors.Is(synErr.Err, io.ErrUnexpectedEOF) {
			return apperr.New(apperr.Invalid, "malformed JSON: unexpected end of body")
		}
		return apperr.New(apperr.Invalid, "malformed JSON at byte %d", synErr.ByteOffset)
	case errors.As(err, &semErr) && errors.Is(semErr.Err, json.ErrUnknownName):
		return apperr.Field(fieldOf(semErr.JSONPointer), "unknown field (names are matched exactly, in lower case)")
	case errors.As(err, &semErr) && semErr.JSONPointer == "":
		return apperr.New(apperr.Invalid, "request body must be a JSON object")
	case errors.As(err, &semErr) && semErr.GoType != nil:
		return apperr.Field(fieldOf(semErr.JSONPointer), "must be of JSON type %s", jsonKind(semErr.GoType))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.New(apperr.Invalid, "malformed JSON: unexpected end of body")
	}
	return apperr.New(apperr.Invalid, "malformed JSON")
}

// fieldOf is the top-level field a JSON pointer leads into ("tags" for
// /tags/3).
func fieldOf(p jsontext.Pointer) string {
	for tok := range p.Tokens() {
		return tok
	}
	return ""
}

// jsonKind is the JSON type a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return "number"
}
