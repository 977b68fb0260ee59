// Command recur-task serves the recur-task function on $PORT.
package main

import (
	function "github.com/todoevents/todo/functions/recur-task"
	"github.com/todoevents/todo/shared/server"
)

func main() { server.Main(function.New()) }
