package main

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
)

// barProgress shows a progress bar on stderr: people whose night is over,
// out of all, with the simulated time, the line and the bookings.
type barProgress struct {
	bar *progressbar.ProgressBar
}

func newBarProgress(w io.Writer, total int) *barProgress {
	return &barProgress{bar: progressbar.NewOptions64(int64(total),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("rush"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200_000_000),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionClearOnFinish(),
	)}
}

func (b *barProgress) update(done, total int64, desc string) {
	b.bar.Set64(done)
	b.bar.Describe(desc)
}

func (b *barProgress) finish() {
	b.bar.Finish()
	b.bar.Exit()
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
