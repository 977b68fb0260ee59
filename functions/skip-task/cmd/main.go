// Command skip-task serves the skip-task function on $PORT.
package main

import (
	function "github.com/todoevents/todo/functions/skip-task"
	"github.com/todoevents/todo/shared/server"
)

func main() { server.Main(function.New()) }
