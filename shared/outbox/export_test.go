package outbox

// CleanSQL exposes the relay's clean-up to the plan test.
var CleanSQL = cleanSQL
