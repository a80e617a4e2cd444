//go:build unix

package redisproc

import "syscall"

var sigStop, sigCont = syscall.SIGSTOP, syscall.SIGCONT
