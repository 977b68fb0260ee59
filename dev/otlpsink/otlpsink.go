// Package otlpsink is an OTLP/HTTP traces receiver for tests and local
// runs: it decodes what exporters POST to /v1/traces (protobuf, as the
// OpenTelemetry protocol defines it, with the official generated types;
// gzip or not), keeps the spans in memory, and answers each export as the
// protocol asks. It is no collector: nothing is forwarded.
package otlpsink

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, flattened.
type Span struct {
	Service                   string
	TraceID, SpanID, ParentID string // hex; ParentID empty for a root
	Name                      string
	Kind                      tracepb.Span_SpanKind
	Start, End                time.Time
	Attrs                     map[string]string
	Links                     []Link
	Error                     bool
}

// Link is a span's link to another span.
type Link struct{ TraceID, SpanID string }

// Sink receives and holds spans, up to Max (the oldest are dropped first).
type Sink struct {
	Max int

	mu    sync.Mutex
	spans []Span
	srv   *http.Server
	addr  string
	// OnSpan, when set, is called with each span received, outside the lock.
	OnSpan func(Span)
}

// Listen starts receiving on addr (host:port; port 0 picks one).
func Listen(addr string) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Sink{Max: 200_000, addr: ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", s.receive)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT).
func (s *Sink) URL() string { return "http://" + s.addr }

// Close stops receiving.
func (s *Sink) Close() error { return s.srv.Close() }

func (s *Sink) receive(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = http.MaxBytesReader(w, r.Body, 64<<20)
	if r.Header.Get("Content-Encoding") == "gzip" {
		z, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer z.Close()
		body = z
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "only application/x-protobuf is taken, not "+ct, http.StatusUnsupportedMediaType)
		return
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	got := flatten(&req)
	s.mu.Lock()
	s.spans = append(s.spans, got...)
	if over := len(s.spans) - s.Max; s.Max > 0 && over > 0 {
		s.spans = slices.Delete(s.spans, 0, over)
	}
	on := s.OnSpan
	s.mu.Unlock()
	if on != nil {
		for _, sp := range got {
			on(sp)
		}
	}
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func flatten(req *coltrace.ExportTraceServiceRequest) []Span {
	var out []Span
	for _, rs := range req.GetResourceSpans() {
		service := value(rs.GetResource().GetAttributes(), "service.name")
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				s := Span{Service: service, TraceID: hex.EncodeToString(sp.GetTraceId()), SpanID: hex.EncodeToString(sp.GetSpanId()),
					Name: sp.GetName(), Kind: sp.GetKind(), Attrs: map[string]string{},
					Start: time.Unix(0, int64(sp.GetStartTimeUnixNano())), End: time.Unix(0, int64(sp.GetEndTimeUnixNano())),
					Error: sp.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR}
				if len(sp.GetParentSpanId()) > 0 {
					s.ParentID = hex.EncodeToString(sp.GetParentSpanId())
				}
				for _, kv := range sp.GetAttributes() {
					s.Attrs[kv.GetKey()] = str(kv.GetValue())
				}
				for _, l := range sp.GetLinks() {
					s.Links = append(s.Links, Link{TraceID: hex.EncodeToString(l.GetTraceId()), SpanID: hex.EncodeToString(l.GetSpanId())})
				}
				out = append(out, s)
			}
		}
	}
	return out
}

func value(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.GetKey() == key {
			return str(kv.GetValue())
		}
	}
	return ""
}

func str(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	}
	return v.String()
}

// Spans returns the spans held that match keep (nil: all).
func (s *Sink) Spans(keep func(Span) bool) []Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Span
	for _, sp := range s.spans {
		if keep == nil || keep(sp) {
			out = append(out, sp)
		}
	}
	return out
}

// Forget drops the spans of trace id.
func (s *Sink) Forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spans = slices.DeleteFunc(s.spans, func(sp Span) bool { return sp.TraceID == id })
}

// Trace returns the spans of trace id, by start time.
func (s *Sink) Trace(id string) []Span {
	out := s.Spans(func(sp Span) bool { return sp.TraceID == id })
	slices.SortFunc(out, func(a, b Span) int { return a.Start.Compare(b.Start) })
	return out
}

// Tree writes spans (one trace) as an indented tree, each span with its
// service, its duration and its offset from the trace's start; a span
// whose parent is not among them (still to come, or from a process that
// does not export) starts a tree of its own.
func Tree(w io.Writer, spans []Span) {
	if len(spans) == 0 {
		return
	}
	ids := map[string]bool{}
	children := map[string][]Span{}
	for _, sp := range spans {
		ids[sp.SpanID] = true
	}
	var roots []Span
	for _, sp := range spans {
		if sp.ParentID == "" || !ids[sp.ParentID] {
			roots = append(roots, sp)
		} else {
			children[sp.ParentID] = append(children[sp.ParentID], sp)
		}
	}
	t0 := spans[0].Start
	var walk func(Span, int)
	walk = func(sp Span, depth int) {
		mark := ""
		if sp.Error {
			mark = "  ERROR"
		}
		for _, l := range sp.Links {
			mark += "  link→" + l.SpanID[:8]
		}
		fmt.Fprintf(w, "%s%-*s %-14s +%7.1fms %7.1fms%s\n", strings.Repeat("  ", depth), 48-2*depth, sp.Name, sp.Service,
			float64(sp.Start.Sub(t0).Microseconds())/1000, float64(sp.End.Sub(sp.Start).Microseconds())/1000, mark)
		for _, c := range children[sp.SpanID] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
}
