package window

import (
	"errors"
	"fmt"
	"time"

	// The zone database is embedded so that a container without
	// /usr/share/zoneinfo still gets Asia/Seoul, not a silent UTC. Go's
	// documentation leaves this choice to the main package; for gatehouse
	// zone correctness is the product's promise, so the library carries it.
	_ "time/tzdata"
)

// ErrUnknownZone reports a zone name that is not in the IANA database, or
// one that depends on the host ("" and "Local").
var ErrUnknownZone = errors.New("window: unknown time zone")

// LoadZone returns the named IANA zone, such as "Asia/Seoul" or "UTC".
//
// Unlike time.LoadLocation it refuses "" and "Local", whose meaning depends
// on the host's TZ: a campaign's answers must be the same on every server.
// The zone database is embedded, so the result does not depend on the host
// having zoneinfo files either.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%w %q: name an IANA zone such as \"Asia/Seoul\"", ErrUnknownZone, name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownZone, name)
	}
	return loc, nil
}

// MustLoadZone is LoadZone for zone names fixed in the program text. It
// panics on an unknown name.
func MustLoadZone(name string) *time.Location {
	loc, err := LoadZone(name)
	if err != nil {
		panic(err)
	}
	return loc
}
