package main

import (
	"os/exec"
	"syscall"
)

// setPdeathsig asks the kernel to kill a child redis-server if this
// program dies, so that an interrupted run leaves no server behind.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
