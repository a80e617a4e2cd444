//go:build race

package eligibility

const raceEnabled = true
