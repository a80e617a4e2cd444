//go:build !linux

package main

import "os/exec"

// setPdeathsig does nothing where the kernel has no parent-death signal;
// the program stops its servers on exit.
func setPdeathsig(cmd *exec.Cmd) {}
