package main

import (
	"context"
	"errors"
	"time"

	"github.com/benbjohnson/clock"
)

// defaultTarget builds the target the configuration names.
func defaultTarget(ctx context.Context, cfg *config, clk clock.Clock, open time.Time, cr *crowd) (target, faultControl, func(), error) {
	return nil, nil, nil, errors.New("not implemented yet")
}
