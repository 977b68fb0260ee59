// Package tracing is the processes' OpenTelemetry tracing: a provider that
// exports spans over OTLP/HTTP when an endpoint is configured (and is a
// no-op otherwise), and the trace context carried inside each CloudEvent
// (the CloudEvents distributed-tracing extension: traceparent, tracestate),
// so an event's handling joins the trace of the request that caused it,
// across processes, brokers and sidecars.
package tracing

import (
	"context"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Scope is the instrumentation scope of the spans the project makes.
const Scope = "github.com/todoevents/todo"

// The distributed-tracing extension's attributes.
const (
	ExtTraceparent = "traceparent"
	ExtTracestate  = "tracestate"
)

// Propagator reads and writes W3C trace context (traceparent, tracestate),
// in HTTP headers and in events alike.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Tracing is a process's tracing: on (exporting) or off. Its zero value
// and nil are off: every span is a no-op and nothing is exported.
type Tracing struct {
	sdk *sdktrace.TracerProvider
}

// Start turns tracing on for service, exporting spans in batches to the
// OTLP/HTTP traces endpoint (a URL such as http://collector:4318/v1/traces;
// the exporter's other OTEL_EXPORTER_OTLP_* settings and the SDK's
// OTEL_TRACES_SAMPLER, OTEL_BSP_* and OTEL_RESOURCE_ATTRIBUTES come from the
// process environment). An empty endpoint leaves tracing off.
func Start(ctx context.Context, endpoint, service string) (*Tracing, error) {
	if endpoint == "" {
		return &Tracing{}, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, err
	}
	// The service name is the function's unless OTEL_SERVICE_NAME says
	// otherwise (the environment's attributes come last and win).
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithAttributes(semconv.ServiceName(service)), resource.WithFromEnv())
	if err != nil {
		return nil, err
	}
	return &Tracing{sdk: sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))}, nil
}

// On reports whether spans are recorded and exported.
func (t *Tracing) On() bool { return t != nil && t.sdk != nil }

// Provider is the tracer provider: the SDK's when on, a no-op one when off.
func (t *Tracing) Provider() trace.TracerProvider {
	if !t.On() {
		return noop.NewTracerProvider()
	}
	return t.sdk
}

// Tracer is the project's tracer of the provider.
func (t *Tracing) Tracer() trace.Tracer { return t.Provider().Tracer(Scope) }

// Shutdown exports what is still buffered (within ctx) and stops.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.On() {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}

// ForceFlush exports what is buffered now.
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if !t.On() {
		return nil
	}
	return t.sdk.ForceFlush(ctx)
}

// Tracer is the tracer a span in ctx was made by, so work done for a
// traced request or event is traced by the same provider (a no-op one
// when nothing in ctx is traced).
func Tracer(ctx context.Context) trace.Tracer {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(Scope)
}

// Inject writes the span context of ctx into evt's traceparent and
// tracestate; without one, evt is left as it is.
func Inject(ctx context.Context, evt *cloudevents.Event) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	c := propagation.MapCarrier{}
	Propagator.Inject(ctx, c)
	evt.SetExtension(ExtTraceparent, c[ExtTraceparent])
	if ts := c[ExtTracestate]; ts != "" {
		evt.SetExtension(ExtTracestate, ts)
	}
}

// Traced reports whether evt carries a trace context.
func Traced(evt cloudevents.Event) bool {
	_, ok := evt.Extensions()[ExtTraceparent]
	return ok
}

// Extract returns ctx with evt's trace context as the remote parent (ctx
// unchanged when evt carries none, or a malformed one).
func Extract(ctx context.Context, evt cloudevents.Event) context.Context {
	ext := evt.Extensions()
	tp, _ := ext[ExtTraceparent].(string)
	if tp == "" {
		return ctx
	}
	ts, _ := ext[ExtTracestate].(string)
	return Propagator.Extract(ctx, propagation.MapCarrier{ExtTraceparent: tp, ExtTracestate: ts})
}

// Event attributes of a span about evt, on topic.
func eventAttrs(evt cloudevents.Event, topic string, op attribute.KeyValue) []attribute.KeyValue {
	return []attribute.KeyValue{semconv.MessagingSystemKafka, op, semconv.MessagingDestinationName(topic),
		semconv.MessagingMessageID(evt.ID()), semconv.CloudEventsEventID(evt.ID()),
		semconv.CloudEventsEventType(evt.Type())}
}

// Create records, under the span of ctx, the creation of evt for topic
// (its write to the outbox): a producer span whose context evt then
// carries, the one every later hop of evt continues (the messaging
// conventions' creation context). An event that already carries a trace
// context, or a ctx that is not traced, is left as it is.
func Create(ctx context.Context, evt *cloudevents.Event, topic string) {
	if Traced(*evt) || !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	ctx, span := Tracer(ctx).Start(ctx, "create "+topic, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(eventAttrs(*evt, topic, semconv.MessagingOperationTypeCreate)...))
	Inject(ctx, evt)
	span.End()
}

// StartSend starts the span of sending evt to topic, as a child of the
// event's own context; the context returned carries it (ctx itself, and a
// span that does nothing, for an event without a trace context).
func StartSend(ctx context.Context, tracer trace.Tracer, evt cloudevents.Event, topic string, at time.Time) (context.Context, trace.Span) {
	if !Traced(evt) {
		return ctx, noSpan
	}
	if off(tracer) { // the event's context goes on, nothing is recorded
		return Extract(ctx, evt), noSpan
	}
	return tracer.Start(Extract(ctx, evt), "send "+topic, trace.WithSpanKind(trace.SpanKindProducer), trace.WithTimestamp(at),
		trace.WithAttributes(eventAttrs(evt, topic, semconv.MessagingOperationTypeSend)...))
}

// StartProcess starts the span of handling evt, received from topic, as a
// child of the event's context, or of the span in ctx (a pushed event's
// request) when that is in the same trace; an event from another trace
// than ctx's is linked to it.
func StartProcess(ctx context.Context, tracer trace.Tracer, evt cloudevents.Event, topic string) (context.Context, trace.Span) {
	if off(tracer) {
		if Traced(evt) && !trace.SpanContextFromContext(ctx).IsValid() {
			return Extract(ctx, evt), noSpan
		}
		return ctx, noSpan
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(eventAttrs(evt, topic, semconv.MessagingOperationTypeProcess)...)}
	outer := trace.SpanContextFromContext(ctx)
	parent := ctx
	if Traced(evt) {
		if own := trace.SpanContextFromContext(Extract(context.Background(), evt)); own.IsValid() && own.TraceID() != outer.TraceID() {
			parent = trace.ContextWithRemoteSpanContext(ctx, own)
			if outer.IsValid() {
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: outer}))
			}
		}
	}
	return tracer.Start(parent, "process "+topic, opts...)
}

// StartBatch starts the span of work done in one go for the handling
// spans of ctxs: their child when there is one, else a span of its own
// linked to each (one batch, many traces).
func StartBatch(tracer trace.Tracer, name string, ctxs []context.Context) (context.Context, trace.Span) {
	if off(tracer) {
		return context.Background(), noSpan
	}
	if len(ctxs) == 1 {
		return tracer.Start(ctxs[0], name)
	}
	links := make([]trace.Link, 0, len(ctxs))
	for _, c := range ctxs {
		if sc := trace.SpanContextFromContext(c); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	return tracer.Start(context.Background(), name, trace.WithNewRoot(), trace.WithLinks(links...),
		trace.WithAttributes(semconv.MessagingBatchMessageCount(len(ctxs))))
}

// noSpan records nothing.
var noSpan = trace.SpanFromContext(context.Background())

// off reports whether tracer records nothing (tracing off here), so no
// span's attributes need be built.
func off(tracer trace.Tracer) bool {
	_, ok := tracer.(noop.Tracer)
	return ok
}

// Fail marks span failed with err (nil: nothing).
func Fail(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
}

// Log is log with the trace_id and span_id of the span in ctx, so a log
// line leads to its trace (log unchanged when nothing is traced).
func Log(ctx context.Context, log zerolog.Logger) zerolog.Logger {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return log
	}
	return log.With().Str("trace_id", sc.TraceID().String()).Str("span_id", sc.SpanID().String()).Logger()
}
