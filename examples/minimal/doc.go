// Command minimal is gatehouse's smallest integration, the one the README
// shows: a gate, a waiting room and a slot service, on memory, in front of
// a mux, in main.go's 40 lines. The identity is HTTP basic auth's user
// name, a stand-in for the host's sign-in; SECRET holds 32 random bytes.
//
//	SECRET=$(head -c 24 /dev/urandom | base64) go run ./examples/minimal
//	curl -u kim: -X POST localhost:8080/queue/join
//	curl -u kim: localhost:8080/queue/status       # the pass, once admitted
//	curl -u kim: -H "Authorization: Bearer $PASS" -H "Idempotency-Key: 1" -X POST localhost:8080/book/1400
package main
