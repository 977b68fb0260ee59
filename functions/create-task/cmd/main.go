// Command create-task serves the create-task function on $PORT.
package main

import (
	function "github.com/todoevents/todo/functions/create-task"
	"github.com/todoevents/todo/shared/server"
)

func main() { server.Main(function.New()) }
