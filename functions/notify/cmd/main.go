// Command notify serves the notify function on $PORT.
package main

import (
	function "github.com/todoevents/todo/functions/notify"
	"github.com/todoevents/todo/shared/server"
)

func main() { server.Main(function.New()) }
