// Command tzprobe is built by TestZoneWithoutSystemZoneinfo and run in a
// chroot that holds nothing but itself: it shows that package window
// resolves Asia/Seoul from its embedded zone database, and still refuses an
// unknown zone instead of falling back to UTC.
package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

func main() {
	loc, err := window.LoadZone("Asia/Seoul")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	t, err := window.Resolve(window.Date(2021, time.July, 12).At(20, 0, 0), loc, window.Reject)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	_, off := t.Zone()
	fmt.Printf("zone=%s offset=%d opening=%s utc=%s\n", loc, off, t.Format(time.RFC3339), t.UTC().Format(time.RFC3339))
	if _, err := window.LoadZone("Mars/Olympus_Mons"); !errors.Is(err, window.ErrUnknownZone) {
		fmt.Println("error: unknown zone accepted:", err)
		os.Exit(1)
	}
	fmt.Println("unknown zone refused")
}
