// Command delete-task serves the delete-task function on $PORT.
package main

import (
	function "github.com/todoevents/todo/functions/delete-task"
	"github.com/todoevents/todo/shared/server"
)

func main() { server.Main(function.New()) }
