package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of run and
// the reads of the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-store", "sqlite"}, `-store "sqlite": want memory or redis`},
		{[]string{"-rate", "0"}, "-rate 0"},
		{[]string{"-max-active", "-3"}, "-max-active -3"},
		{[]string{"-opens-in", "-1m"}, "-opens-in -1m0s: must not be negative"},
		{[]string{"-opens-in", "soon"}, `invalid value "soon" for flag -opens-in`},
		{[]string{"-hold-for", "1s"}, "-hold-for 1s"},
		{[]string{"-client-limit", "-1"}, "-client-limit -1"},
		{[]string{"-client-limit-by", "ip"}, `-client-limit-by "ip": want identity or address`},
		{[]string{"-trusted-proxy", "10.0.0.1"}, "-trusted-proxy applies to -client-limit-by address"},
		{[]string{"-client-limit-by", "address", "-trusted-proxy", "proxy.local"}, `-trusted-proxy: "proxy.local" is not an IP address or CIDR prefix`},
		{[]string{"-now", "yesterday"}, `-now: "yesterday" is not an RFC 3339 instant`},
		{[]string{"-no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-campaign", "/nonexistent/campaign.json"}, "campaign"},
		{[]string{"-campaign", "x.json", "-opens-in", "5m"}, "-opens-in and -open-for shape the demo campaign"},
		{[]string{"-addr", "127.0.0.1:0", "-store", "redis", "-redis-addr", ""}, "-store redis needs -redis-addr"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr syncBuffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit status %d, want %d; stderr:\n%s", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr does not say %q:\n%s", tc.want, stderr.String())
			}
			if stdout.String() != "" {
				t.Fatalf("stdout should be empty, got %q", stdout.String())
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr syncBuffer
	if code := run(context.Background(), []string{"-h"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit status %d, want 0", code)
	}
	for _, flag := range []string{"-addr", "-campaign", "-store", "-redis-addr", "-opens-in", "-rate", "-max-active"} {
		if !strings.Contains(stderr.String(), flag) {
			t.Errorf("usage does not mention %s", flag)
		}
	}
}

func TestRunBadSecret(t *testing.T) {
	t.Setenv(secretEnv, "abcd")
	var stdout, stderr syncBuffer
	if code := run(context.Background(), []string{"-addr", "127.0.0.1:0"}, &stdout, &stderr); code != exitUsage {
		t.Fatalf("exit status %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr.String(), secretEnv) {
		t.Fatalf("stderr does not name %s: %s", secretEnv, stderr.String())
	}
}

// TestRunServesAndShutsDown starts the real program on a free port, reads
// the URL and operator token it prints, and stops it by cancelling its
// context, as SIGINT does.
func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-opens-in", "2m"}, pw, &stderr)
		pw.Close()
	}()
	var url, token string
	sc := bufio.NewScanner(pr)
	for (url == "" || token == "") && sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "http://"); i >= 0 && url == "" {
			url = strings.Fields(line[i:])[0]
		}
		if rest, ok := strings.CutPrefix(line, "reservation: operator token "); ok {
			token = rest
		}
	}
	go io.Copy(io.Discard, pr)
	if url == "" || token == "" {
		t.Fatalf("did not print URL and token; stderr:\n%s", stderr.String())
	}
	c := &http.Client{Timeout: 5 * time.Second}
	for _, p := range []string{"/healthz", "/", "/static/style.css"} {
		resp, err := c.Get(url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", url+"/api/operator/stats", nil)
	req.Header.Set("Authorization", "Operator "+token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("operator stats with the printed token: %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit status %d after shutdown; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
}
