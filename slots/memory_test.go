package slots_test

import (
	"testing"

	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/slots/slotstest"
)

func TestMemoryConformance(t *testing.T) {
	slotstest.Run(t, func(t *testing.T) slots.Store { return slots.NewMemoryStore() })
}
