package contract

import "github.com/todoevents/todo/shared/task"

// Chain pages: how many links a page holds by default and at most.
const (
	DefaultChainLimit = 100
	MaxChainLimit     = 500
)

// ChainQuery asks for one page of the series a task belongs to: the links
// after position After (-1: from the series' first task), at most Limit,
// oldest first. A position is a link's place in its series (0 for the
// first); deleting a link leaves a gap, never a renumbering.
type ChainQuery struct {
	After, Limit int
}

// ChainPage is one page of a series and, when more follow, the position
// the next page starts after.
type ChainPage struct {
	Tasks []task.Task
	Next  *int
}
