package redisproc

import (
	"os/exec"
	"syscall"
)

// setProcAttr asks the kernel to kill redis-server if the test binary dies,
// so that an interrupted test run leaves no server behind.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
