// Package redistest starts real redis-server processes for tests: a
// standalone server, a Sentinel setup (a primary, a replica and three
// Sentinels: StartSentinel) or a three-master Redis Cluster, each on free loopback
// ports chosen by the kernel (never 6379), in a temporary directory, and
// stopped when the test ends.
//
// It is the one place in gatehouse that knows how to run Redis for a test;
// the processes themselves are managed by internal/redisproc, which the rush
// simulator also uses outside tests.
// When the redis-server binary is missing the calling test is skipped, unless
// the environment variable GATEHOUSE_REQUIRE_REDIS is set to a non-empty
// value, in which case the test fails: CI sets it so that Redis-backed tests
// never pass by skipping.
//
// A Server can be killed with SIGKILL and restarted in place on the same port
// and data directory, which is what fault tests need to prove that a booking
// written with appendfsync always survives a crash. It can also be stalled
// (Pause, with SIGSTOP; DebugSleep) and have its client connections dropped
// (DropClients); Faults lists these faults and RunFaults runs a test under
// each, for the fault-injection suite of every package.
package redistest
