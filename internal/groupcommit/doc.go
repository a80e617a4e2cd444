// Package groupcommit lets the calls a store makes concurrently share round
// trips to its server (group commit). The admission and slots Redis stores
// both use it, so both follow one rule:
//
//   - One queue per store value. A call that finds the queue idle (fewer
//     than [InFlight] round trips of its queue in flight, no batch waiting
//     to be sent) leads a new round trip; before sending it yields the
//     processor a few times (runtime.Gosched), so that the calls made at
//     the same moment (the requests of one instant, runnable together)
//     join it instead of taking round trips of their own. A call alone
//     waits only those yields. Otherwise it queues, in arrival order. When
//     a round trip returns, its sender cuts the queue's first calls (up to
//     the queue's Max) into the next batch and hands it to the first of
//     them, who sends it as one round trip (with the calls that queued
//     meanwhile, up to Max, unless another batch was cut since) and hands
//     on in turn. No goroutine of its own: callers take turns to lead.
//   - Each call has one budget (Options.Budget, the store's Timeout), from
//     when it enters the queue, covering its wait and its round trip; a
//     shorter deadline on the caller's context still applies. Every call
//     returns within it.
//   - A call not yet sent when its budget or context ends leaves the queue
//     (or the batch cut for it) unsent: nothing happened ([ErrNotSent]).
//     A call sent whose budget or context ends before its round trip
//     returns gets [ErrUnknown]: the outcome is unknown, never "nothing
//     happened".
//   - A round trip is bounded by its leader's deadline (the leader is the
//     oldest call of the batch, so, budgets being equal, the earliest
//     deadline) and is not cancelled with the leader's context: it carries
//     the others' calls too.
//
// What a round trip carries is the store's: both stores send one function
// call (FCALL) per entity (an admission room, a slots campaign) that has
// calls in the batch, the entity's calls in queue order, and pipeline the
// entities' FCALLs (on a Cluster, go-redis splits the pipeline by node; an
// entity's keys share one hash tag, so one entity's FCALL goes to one
// shard).
package groupcommit
