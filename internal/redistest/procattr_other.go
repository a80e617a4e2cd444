//go:build !linux

package redistest

import "os/exec"

// setProcAttr does nothing where the kernel has no parent-death signal;
// t.Cleanup still stops the server.
func setProcAttr(cmd *exec.Cmd) {}
