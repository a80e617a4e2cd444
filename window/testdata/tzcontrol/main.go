// Command tzcontrol is the control for tzprobe: the same lookup with plain
// time.LoadLocation and no embedded zone database. In the empty chroot it
// must fail, which shows the chroot really has no zoneinfo.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("zone=" + loc.String())
}
