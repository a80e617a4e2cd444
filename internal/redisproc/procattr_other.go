//go:build !linux

package redisproc

import "os/exec"

// setProcAttr does nothing where the kernel has no parent-death signal;
// the caller must still Kill the server.
func setProcAttr(cmd *exec.Cmd) {}
