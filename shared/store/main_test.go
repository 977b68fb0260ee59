package store_test

import (
	"testing"

	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }
