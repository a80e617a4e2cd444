// Package httpsec holds what the HTTP security matrix of every package
// needs: raw request-targets sent over a real connection (the forms a
// client can send but net/http's request builders normalise away), the
// headers of a cross-site browser request, and the alternative encodings
// of a token, each of which a verifier must refuse but one.
package httpsec

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// RawTargets are request-targets that name path, as a hostile client may
// write them: a doubled slash, a dot segment encoded as %2e, a path
// parameter after ';', another case, an encoded slash, and the absolute
// form naming another host. path must start with "/".
func RawTargets(path string) map[string]string {
	dir, base := path[:strings.LastIndex(path, "/")+1], path[strings.LastIndex(path, "/")+1:]
	return map[string]string{
		"double slash":   "/" + path,
		"inner //":       dir + "/" + base,
		"%2e segment":    dir + "%2e/" + base,
		"%2e%2e segment": dir + "x/%2e%2e/" + base,
		"; parameter":    path + ";x=1",
		"upper case":     strings.ToUpper(path),
		"%2f slash":      strings.TrimSuffix(dir, "/") + "%2f" + base,
		"absolute form":  "http://other.example" + path,
		"trailing slash": path + "/",
	}
}

// Send writes one HTTP/1.1 request with the raw request-target target to
// the server at addr (host:port), with the given headers (Host defaults to
// addr) and body, and returns the response with its body read.
func Send(addr, method, target string, header http.Header, body string) (*http.Response, string, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, target)
	if header.Get("Host") == "" {
		fmt.Fprintf(&b, "Host: %s\r\n", addr)
	}
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	return resp, string(rb), err
}

// CrossSite are the header sets of a state-changing request a browser sends
// for a page on another site: with Sec-Fetch-Site (every current browser),
// and with only an Origin (older ones), for an API request and a form.
func CrossSite() map[string]http.Header {
	return map[string]http.Header{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}},
		"Sec-Fetch-Site same-site":  {"Sec-Fetch-Site": {"same-site"}, "Origin": {"https://sub.evil.example"}},
		"Origin only":               {"Origin": {"https://evil.example"}},
		"Origin null":               {"Origin": {"null"}, "Sec-Fetch-Site": {"cross-site"}},
	}
}

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// Base64Variants returns other spellings of the unpadded base64url string
// s that a lenient decoder reads as the same bytes: the last character
// with other values of its unused low bits, "=" padding, and the standard
// alphabet's '+' and '/'. A strict verifier accepts none of them.
func Base64Variants(s string) []string {
	var out []string
	if n := len(s) % 4; n == 2 || n == 3 {
		last := strings.IndexByte(b64url, s[len(s)-1])
		if last >= 0 {
			unused := 4 // bits of the last character that carry nothing
			if n == 3 {
				unused = 2
			}
			for low := range 1 << unused {
				v := last&^(1<<unused-1) | low
				if v != last {
					out = append(out, s[:len(s)-1]+string(b64url[v]))
				}
			}
		}
		out = append(out, s+strings.Repeat("=", 4-n))
	}
	if std := strings.NewReplacer("-", "+", "_", "/").Replace(s); std != s {
		out = append(out, std)
	}
	return out
}

// TokenVariants returns the variants of a token made of dot-separated
// base64url segments: Base64Variants of each segment in place, and the
// token with surrounding white space.
func TokenVariants(token string) []string {
	parts := strings.Split(token, ".")
	var out []string
	for i, p := range parts {
		for _, v := range Base64Variants(p) {
			q := append([]string(nil), parts...)
			q[i] = v
			out = append(out, strings.Join(q, "."))
		}
	}
	return append(out, " "+token, token+" ", "\t"+token)
}
