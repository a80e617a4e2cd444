package admission_test

import (
	"fmt"

	"github.com/gatehouse-go/gatehouse/admission"
)

// One opening's limits shared out over three rooms, one per region,
// weighted by the places each region offers: the rooms together admit
// exactly what the one room would have.
func ExampleLimits_Split() {
	total := admission.Limits{Rate: 6000, Burst: 100, Cap: 30000}
	parts, err := total.Split([]int{500, 300, 200}) // places in seoul, busan, jeju
	if err != nil {
		panic(err)
	}
	for _, p := range parts {
		fmt.Printf("rate %d/min, burst %d, cap %d\n", p.Rate, p.Burst, p.Cap)
	}
	// Output:
	// rate 3000/min, burst 50, cap 15000
	// rate 1800/min, burst 30, cap 9000
	// rate 1200/min, burst 20, cap 6000
}
