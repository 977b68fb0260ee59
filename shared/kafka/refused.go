package kafka

import (
	"errors"

	"github.com/IBM/sarama"
)

// refusals are broker answers that no retry of the same record can change.
var refusals = []sarama.KError{
	sarama.ErrMessageSizeTooLarge, sarama.ErrInvalidMessage, sarama.ErrInvalidMessageSize,
	sarama.ErrInvalidRecord, sarama.ErrInvalidTopic,
	sarama.ErrUnsupportedForMessageFormat, sarama.ErrPolicyViolation,
}

// refusedError marks a record the broker refused for good.
type refusedError struct{ err error }

func (e refusedError) Error() string   { return "broker refused the record for good: " + e.err.Error() }
func (e refusedError) Unwrap() error   { return e.err }
func (e refusedError) Permanent() bool { return true }

// markRefused wraps err so callers can tell (through a Permanent method)
// that retrying the record is pointless.
func markRefused(err error) error {
	for _, k := range refusals {
		if errors.Is(err, k) {
			return refusedError{err}
		}
	}
	return err
}
