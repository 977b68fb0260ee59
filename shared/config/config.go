// Package config reads the functions' settings from environment variables,
// applies defaults and validates them, so a bad value stops start-up with a
// message naming the variable.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/todoevents/todo/shared/auth"
	"github.com/todoevents/todo/shared/httpx"
)

// Variables names every environment variable Load reads.
var Variables = []string{
	"PORT", "DATABASE_URL", "DB_MAX_CONNS", "KAFKA_BROKERS", "KAFKA_PARTITIONS", "KAFKA_CONSUMER_GROUP",
	"KAFKA_CONSUME", "AUTH_JWT_SECRET", "BETTER_AUTH_SECRET", "CORS_ORIGINS", "LOG_FORMAT", "LOG_LEVEL",
	"OUTBOX_RELAY", "OUTBOX_RETENTION", "APP_API_TOKEN",
}

// Config is every setting a function may use.
type Config struct {
	Port            int
	DatabaseURL     string
	DBMaxConns      int32
	KafkaBrokers    []string
	KafkaPartitions int32
	ConsumerGroup   string
	JWTSecret       string
	CORSOrigins     []string
	LogFormat       string
	LogLevel        string
	RelayEnabled    bool
	Consume         bool
	OutboxRetention time.Duration
	AppAPIToken     string
}

// Needs says which settings a function requires.
type Needs struct {
	Auth bool // HTTP API functions verify tokens
}

// Load reads env (variable name → value) into a Config.
func Load(env map[string]string, needs Needs) (Config, error) {
	get := func(k, def string) string {
		if v, ok := env[k]; ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	var errs []error
	c := Config{
		DatabaseURL:   get("DATABASE_URL", ""),
		ConsumerGroup: get("KAFKA_CONSUMER_GROUP", "recur-task"),
		JWTSecret:     get("AUTH_JWT_SECRET", get("BETTER_AUTH_SECRET", "")),
		CORSOrigins:   httpx.ParseOrigins(get("CORS_ORIGINS", "")),
		LogFormat:     get("LOG_FORMAT", "json"),
		LogLevel:      get("LOG_LEVEL", "info"),
		AppAPIToken:   get("APP_API_TOKEN", ""),
	}
	c.Port = intVar(&errs, "PORT", get("PORT", "8080"), 1, 65535)
	c.DBMaxConns = int32(intVar(&errs, "DB_MAX_CONNS", get("DB_MAX_CONNS", "10"), 1, 1000))
	c.KafkaPartitions = int32(intVar(&errs, "KAFKA_PARTITIONS", get("KAFKA_PARTITIONS", "3"), 1, 1000))
	for _, b := range strings.Split(get("KAFKA_BROKERS", ""), ",") {
		if b = strings.TrimSpace(b); b != "" {
			c.KafkaBrokers = append(c.KafkaBrokers, b)
		}
	}
	relay, err := strconv.ParseBool(get("OUTBOX_RELAY", "true"))
	if err != nil {
		errs = append(errs, fmt.Errorf("OUTBOX_RELAY: %q is not true or false", get("OUTBOX_RELAY", "")))
	}
	c.RelayEnabled = relay
	consume, err := strconv.ParseBool(get("KAFKA_CONSUME", "true"))
	if err != nil {
		errs = append(errs, fmt.Errorf("KAFKA_CONSUME: %q is not true or false", get("KAFKA_CONSUME", "")))
	}
	c.Consume = consume
	if c.OutboxRetention, err = time.ParseDuration(get("OUTBOX_RETENTION", "24h")); err != nil || c.OutboxRetention <= 0 {
		errs = append(errs, fmt.Errorf("OUTBOX_RETENTION: %q is not a positive duration like 24h", get("OUTBOX_RETENTION", "")))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required (postgres://user:pass@host:5432/db)"))
	} else if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		errs = append(errs, errors.New("DATABASE_URL must be a postgres:// URL"))
	}
	if needs.Auth && len(c.JWTSecret) < auth.MinSecretLen {
		errs = append(errs, fmt.Errorf("AUTH_JWT_SECRET (or BETTER_AUTH_SECRET) must be set, at least %d characters", auth.MinSecretLen))
	}
	return c, errors.Join(errs...)
}

func intVar(errs *[]error, name, v string, lo, hi int) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a number between %d and %d", name, v, lo, hi))
	}
	return n
}
