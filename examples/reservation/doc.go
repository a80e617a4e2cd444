// Command reservation is a complete reservation server built on gatehouse:
// the template a team copies to run an opening that a whole country hits
// at once.
//
//	go run ./examples/reservation
//
// It serves a demo campaign on in-memory backends: the waiting room opens
// at start and booking opens a minute later (-opens-in). It prints its
// address and an operator token for the console at /operator.
//
// The full description of the routes, the phases that open them and the
// JSON API is being written with the server (issue 7).
package main
