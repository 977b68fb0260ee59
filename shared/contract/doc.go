// Package contract is what the functions and their stores say to each
// other: the queries, outcomes, mutations and errors the functions'
// interfaces speak, whichever store (PostgreSQL, or the in-memory fake)
// serves them. It imports neither pgx nor sarama.
package contract
