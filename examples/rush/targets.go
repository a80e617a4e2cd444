package main

import (
	"context"
	"time"

	"github.com/benbjohnson/clock"
)

// defaultTarget builds the target the configuration names.
func defaultTarget(ctx context.Context, cfg *config, clk clock.Clock, open time.Time, cr *crowd) (target, faultControl, func(), error) {
	if cfg.Mode == "http" {
		return httpFactory(ctx, cfg, clk, open, cr)
	}
	return libFactory(ctx, cfg, clk, open, cr)
}
