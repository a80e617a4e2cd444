package admission_test

import (
	"fmt"
	"strings"

	"github.com/gatehouse-go/gatehouse/admission"
)

// The opening shuffle is auditable: commit before the opening, reveal
// after, and anyone recomputes the line.
func ExampleShuffle() {
	// Before opening: the room draws a seed (here a fixed one; use
	// admission.NewSeed(nil)) and publishes only its commitment.
	seed, err := admission.NewSeed(strings.NewReader("the seed of the 12 July opening!"))
	if err != nil {
		panic(err)
	}
	commitment := seed.Commitment()
	fmt.Println("commitment:", commitment)

	// At opening: 10 people arrived early, with arrival indices 0..9. Each
	// one's place in line comes from the seed; nothing is written per person.
	line := admission.NewShuffle(seed, 10)
	fmt.Println("arrival 0 stands at place", line.Place(0))
	fmt.Println("place 0 is arrival", line.Index(0))

	// After opening: the room publishes the seed.
	published := seed.String()
	fmt.Println("seed:", published)

	// An auditor checks the seed against the commitment made before the
	// opening, and recomputes the whole line.
	revealed, err := admission.ParseSeed(published)
	if err != nil {
		panic(err)
	}
	fmt.Println("commitment holds:", admission.VerifyCommitment(revealed, commitment))
	fmt.Println("line (arrival index by place):", admission.Order(revealed, 10))
	// Output:
	// commitment: 98f69128a367bf55f79140005c5cb302c2c32a83e072521e8e4f04a87e152081
	// arrival 0 stands at place 3
	// place 0 is arrival 6
	// seed: 7468652073656564206f6620746865203132204a756c79206f70656e696e6721
	// commitment holds: true
	// line (arrival index by place): [6 9 3 0 4 7 1 2 5 8]
}
