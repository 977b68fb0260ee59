// Command complete-task serves the complete-task function on $PORT.
package main

import (
	function "github.com/todoevents/todo/functions/complete-task"
	"github.com/todoevents/todo/shared/server"
)

func main() { server.Main(function.New()) }
