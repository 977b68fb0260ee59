package store_test

import (
	"testing"

	"github.com/todoevents/todo/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
