// Command live-updates serves the live-updates function (and the web app)
// on $PORT.
package main

import (
	function "github.com/todoevents/todo/functions/live-updates"
	"github.com/todoevents/todo/shared/server"
)

func main() { server.Main(function.New()) }
