// Package problem is the error format of every gatehouse HTTP handler:
// RFC 9457 problem details (application/problem+json), and the typed
// Refusal a host's deny hook receives to shape a refusal its own way.
//
// One convention holds across window, eligibility and admission: a
// problem's "type" is TypeURI(package, code), a heading of
// docs/problems.md, and its "code" member repeats the code for programs.
// Times in problems are RFC 3339 in the campaign's zone, such as
// 2021-07-12T20:00:00+09:00.
//
// The package sits under window because the module's top level holds only
// the four packages; it imports nothing of gatehouse, so eligibility and
// admission use it without depending on window.
package problem
