package store

// ListSQL exposes the list's queries to the plan test.
var ListSQL = listSQL

// PurgeProcessedSQL exposes the processed events' purge to the plan test.
const PurgeProcessedSQL = purgeProcessedSQL

// Classify exposes the error classification to its test.
var Classify = classify

// ChainSQL exposes a series page's query to the plan test.
const ChainSQL = chainSQL
