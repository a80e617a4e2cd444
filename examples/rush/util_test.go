package main

import (
	"bytes"
	"testing"
)

func testConfig(t *testing.T, args ...string) config {
	t.Helper()
	cfg, err := parseFlags(append([]string{"-quiet"}, args...), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
