// Command read-tasks serves the read-tasks function on $PORT.
package main

import (
	function "github.com/todoevents/todo/functions/read-tasks"
	"github.com/todoevents/todo/shared/server"
)

func main() { server.Main(function.New()) }
