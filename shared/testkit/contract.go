package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/todoevents/todo/shared/openapi"
)

// contract is the OpenAPI document, loaded and checked once.
var contract = sync.OnceValues(func() (routers.Router, error) {
	// The web app's files and the event stream are text, checked as such.
	for _, kind := range []string{"text/html", "text/javascript", "text/css", "text/event-stream"} {
		openapi3filter.RegisterBodyDecoder(kind, openapi3filter.RegisteredBodyDecoder("text/plain"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(openapi.Document)
	if err != nil {
		return nil, fmt.Errorf("loading the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	return legacy.NewRouter(doc)
})

// CheckContract validates one exchange against the OpenAPI document: every
// response must be one the document describes for its route and status
// (body and headers), and every request the server accepted (2xx) must be
// one the document allows. A path the document does not know may only
// have been answered 404 or 405. CORS preflights are not checked.
func CheckContract(tb testing.TB, req *http.Request, body []byte, status int, header http.Header, respBody []byte) {
	tb.Helper()
	if req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" {
		return // a CORS preflight, answered by the middleware for every route
	}
	router, err := contract()
	if err != nil {
		tb.Fatal(err)
	}
	req = req.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := router.FindRoute(req)
	if err != nil {
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			tb.Errorf("contract: %s %s answered %d but is not in the OpenAPI document: %v", req.Method, req.URL.Path, status, err)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true,
			IncludeResponseStatus: true}}
	if status/100 == 2 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			tb.Errorf("contract: the server accepted %s %s (%d), which the OpenAPI document does not allow: %v",
				req.Method, req.URL, status, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: in.Options}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		var me openapi3.MultiError
		if errors.As(err, &me) && len(me) == 0 {
			return
		}
		tb.Errorf("contract: %s %s answered %d %s, which the OpenAPI document does not describe: %v",
			req.Method, req.URL, status, respBody, err)
	}
}
