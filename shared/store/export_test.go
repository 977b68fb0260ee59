package store

// ListSQL exposes the list's queries to the plan test.
var ListSQL = listSQL
