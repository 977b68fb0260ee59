// Command update-task serves the update-task function on $PORT.
package main

import (
	function "github.com/todoevents/todo/functions/update-task"
	"github.com/todoevents/todo/shared/server"
)

func main() { server.Main(function.New()) }
