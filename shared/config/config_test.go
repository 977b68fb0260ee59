package config

import (
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	base := map[string]string{"DATABASE_URL": "postgres://u@h/db", "AUTH_JWT_SECRET": "0123456789abcdef0123"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"defaults", base, ""},
		{"better auth secret name", with("AUTH_JWT_SECRET", ""), "AUTH_JWT_SECRET"},
		{"bad port", with("PORT", "http"), "PORT"},
		{"port out of range", with("PORT", "70000"), "PORT"},
		{"missing database", with("DATABASE_URL", ""), "DATABASE_URL"},
		{"wrong database scheme", with("DATABASE_URL", "mysql://x"), "DATABASE_URL"},
		{"bad relay flag", with("OUTBOX_RELAY", "maybe"), "OUTBOX_RELAY"},
		{"bad retention", with("OUTBOX_RETENTION", "-1h"), "OUTBOX_RETENTION"},
		{"short secret", with("AUTH_JWT_SECRET", "short"), "AUTH_JWT_SECRET"},
		{"unknown reminder trigger", with("REMINDER_TRIGGER", "cron"), "REMINDER_TRIGGER"},
		{"bad webhook flag", with("WEBHOOK_ALLOW_PRIVATE", "yes please"), "WEBHOOK_ALLOW_PRIVATE"},
		{"webhook retry delays", with("WEBHOOK_RETRY_DELAYS", "1s,soon"), "WEBHOOK_RETRY_DELAYS"},
		{"negative webhook retry delay", with("WEBHOOK_RETRY_DELAYS", "1s,-5s"), "WEBHOOK_RETRY_DELAYS"},
		{"no webhook retry delays", with("WEBHOOK_RETRY_DELAYS", ","), "WEBHOOK_RETRY_DELAYS"},
		{"long webhook timeout", with("WEBHOOK_TIMEOUT", "2m"), "WEBHOOK_TIMEOUT"},
		{"bad webhook period", with("WEBHOOK_RETRY_PERIOD", "a day"), "WEBHOOK_RETRY_PERIOD"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(tc.env, Requirements{Auth: true})
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, want error naming %s", err, tc.wantErr)
			}
		})
	}
	env := with("AUTH_JWT_SECRET", "")
	env["BETTER_AUTH_SECRET"] = "0123456789abcdef0123"
	env["KAFKA_BROKERS"] = " a:9092, b:9092 ,"
	c, err := Load(env, Requirements{Auth: true})
	if err != nil || c.JWTSecret != "0123456789abcdef0123" || len(c.KafkaBrokers) != 2 || c.HTTP.Port != 8080 {
		t.Fatalf("got %+v, %v", c, err)
	}
	w := c.Webhooks
	if w.AllowLoopback || w.AllowPrivate || w.Timeout.String() != "5s" || len(w.RetryDelays) != 6 || w.RetryDelays[5].String() != "1h0m0s" ||
		w.RetryPeriod.String() != "24h0m0s" || w.DisableAfter.String() != "24h0m0s" || c.ConsumerGroup != "recur-task" {
		t.Fatalf("webhook defaults: %+v, group %s", w, c.ConsumerGroup)
	}
	if c, _ := Load(base, Requirements{Auth: true, Group: "notify"}); c.ConsumerGroup != "notify" {
		t.Fatalf("a function's own default group: %s", c.ConsumerGroup)
	}
}

// TestTracesEndpoint reads the OpenTelemetry variables as the
// specification says: the base endpoint gains /v1/traces, the traces
// endpoint is taken as given and wins, and tracing can be turned off.
func TestTracesEndpoint(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env           map[string]string
		want, wantErr string
	}{
		{map[string]string{}, "", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, "http://collector:4318/v1/traces", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://t/x"}, "https://t/x", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, "", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, "", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"}, "", "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "grpc://c"}, "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "", "OTEL_TRACES_EXPORTER"},
	} {
		env := map[string]string{"DATABASE_URL": "postgres://u@h/db"}
		for k, v := range c.env {
			env[k] = v
		}
		cfg, err := Load(env, Requirements{})
		switch {
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%v: error %v, want one naming %s", c.env, err, c.wantErr)
		case c.wantErr == "" && (err != nil || cfg.TracesEndpoint != c.want):
			t.Errorf("%v: %q %v, want %q", c.env, cfg.TracesEndpoint, err, c.want)
		}
	}
}
