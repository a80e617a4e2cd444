//go:build !unix

package main

import "os/exec"

func setPgid(cmd *exec.Cmd) {}

func signalGroup(cmd *exec.Cmd, kill bool) { cmd.Process.Kill() }
