//go:build !unix

package redisproc

import "os"

// Pausing needs SIGSTOP, which this system has not got.
var sigStop, sigCont os.Signal
