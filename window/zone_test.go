package window_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

func TestLoadZone(t *testing.T) {
	for _, name := range []string{"", "Local", "Mars/Olympus_Mons", "Asia/Seoul ", "../../etc/passwd", "/usr/share/zoneinfo/Asia/Seoul"} {
		if loc, err := window.LoadZone(name); !errors.Is(err, window.ErrUnknownZone) {
			t.Errorf("LoadZone(%q) = %v, %v; want ErrUnknownZone", name, loc, err)
		}
	}
	for name, offset := range map[string]int{"Asia/Seoul": 9 * 3600, "UTC": 0, "America/Los_Angeles": -7 * 3600, "Asia/Kathmandu": 5*3600 + 45*60} {
		loc, err := window.LoadZone(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, off := time.Date(2021, 7, 12, 20, 0, 0, 0, loc).Zone(); off != offset || loc.String() != name {
			t.Errorf("%s: %s offset %d, want %d", name, loc, off, offset)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("MustLoadZone of an unknown zone did not panic")
		}
	}()
	window.MustLoadZone("Nowhere/Land")
}

// TestZoneWithoutSystemZoneinfo proves that Asia/Seoul resolves where the
// host has no zone database: it builds a small static program that uses
// package window (testdata/tzprobe) and runs it in a chroot holding nothing
// but the program. The control (testdata/tzcontrol), plain
// time.LoadLocation without the embedded database, must fail in the same
// chroot, which shows the chroot really has no zoneinfo.
//
// It needs root (for chroot), as in CI; elsewhere it is skipped. The first
// run on a machine compiles the standard library with CGO_ENABLED=0 (tens
// of seconds of CPU); later runs only link.
func TestZoneWithoutSystemZoneinfo(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("chroot test runs on Linux only")
	}
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root: run as root (as CI does) to prove the embedded zone database")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the probe: %v", err)
	}
	root := t.TempDir()
	build := func(pkg, out string) {
		cmd := exec.Command(gobin, "build", "-buildvcs=false", "-o", filepath.Join(root, out), pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	build("./testdata/tzprobe", "tzprobe")
	build("./testdata/tzcontrol", "tzcontrol")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("chroot holds %d entries, want only the two programs", len(entries))
	}
	run := func(name string) (string, error) {
		cmd := exec.Command("/" + name)
		cmd.Dir = "/"
		cmd.Env = []string{} // no TZ, no ZONEINFO: nothing from the host
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("tzprobe")
	if errors.Is(err, syscall.EPERM) {
		t.Skipf("chroot not permitted here (%v): run as root with CAP_SYS_CHROOT to prove the embedded zone database", err)
	}
	if err != nil {
		t.Fatalf("tzprobe in an empty chroot: %v\n%s", err, out)
	}
	want := "zone=Asia/Seoul offset=32400 opening=2021-07-12T20:00:00+09:00 utc=2021-07-12T11:00:00Z\nunknown zone refused\n"
	if out != want {
		t.Fatalf("tzprobe printed %q, want %q", out, want)
	}
	out, err = run("tzcontrol")
	if err == nil || !strings.Contains(out, "unknown time zone Asia/Seoul") {
		t.Fatalf("control without embedded tzdata: err %v, output %q; want it to fail for lack of zoneinfo", err, out)
	}
}
