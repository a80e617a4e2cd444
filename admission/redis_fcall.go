package admission

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The room's Redis functions: one library (lua/lib.lua), loaded once per
// server with FUNCTION LOAD and called with FCALL. Its name carries a hash
// of its text, so that instances running different versions of this
// package (a rolling deploy) each find their own functions on the server.
var (
	//go:embed lua/lib.lua
	luaLib string

	libName = "gatehouse_adm_" + libVersion(luaLib)
	libCode = strings.ReplaceAll(luaLib, "__LIB__", libName)

	// fnBatch runs several calls of one room in one FCALL (the group
	// commit's, redis_batch.go).
	fnBatch = libName + "_batch"
	// fnNames are the functions of the calls by op code.
	fnNames = [...]string{opJoin: libName + "_join", opStatus: libName + "_status", opDone: libName + "_done",
		opAdvance: libName + "_advance", opLimits: libName + "_limits", opSupply: libName + "_supply"}
)

// The room's calls: the op codes that name them in a batch (lua/lib.lua's
// OPS). The first three take an identity hash.
const (
	opJoin byte = iota + 1
	opStatus
	opDone
	opAdvance
	opLimits
	opSupply
)

// libVersion is the first 12 hex digits of the SHA-256 of the library's
// text.
func libVersion(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:6])
}

// fcall calls the room's function fn, loading the library first when the
// server does not have it (a new server, one restarted without its AOF, a
// FUNCTION FLUSH). It returns the function's reply.
func (s *redisStore) fcall(ctx context.Context, fn string, keys []string, args ...any) (any, error) {
	v, err := s.c.FCall(ctx, fn, keys, args...).Result()
	if err != nil && isNoFunction(err) {
		if err := s.loadLib(ctx); err != nil {
			return nil, err
		}
		v, err = s.c.FCall(ctx, fn, keys, args...).Result()
	}
	return v, err
}

// isNoFunction reports the error of an FCALL of a function the server
// does not have.
func isNoFunction(err error) bool {
	return strings.Contains(err.Error(), "Function not found")
}

// loadLib loads the library on every server c writes to: each master of a
// Cluster, each shard of a Ring, the one server otherwise (replicas get it
// from their master). A server that has it already is fine.
func (s *redisStore) loadLib(ctx context.Context) error {
	s.loading.Lock()
	defer s.loading.Unlock()
	load := func(ctx context.Context, c redis.Cmdable) error {
		err := c.FunctionLoad(ctx, libCode).Err()
		if err != nil && strings.Contains(err.Error(), "already exists") {
			err = nil
		}
		return err
	}
	var err error
	switch c := s.c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return load(ctx, m) })
	case *redis.Ring:
		err = c.ForEachShard(ctx, func(ctx context.Context, m *redis.Client) error { return load(ctx, m) })
	default:
		err = load(ctx, s.c)
	}
	if err != nil {
		return fmt.Errorf("FUNCTION LOAD: %w", err)
	}
	return nil
}

// checkLen is the length of a room's check, compared by every call with
// the one the room was created with (with the opening), to find instances
// that disagree: stateLayout, then the start of the seed commitment.
const checkLen = 16

// stateLayout stamps the layout of the room's state (v, h and the records)
// as the first byte of the check stored in v. The commitment is lowercase
// hexadecimal, so a byte outside [0-9a-f] never matches a room written
// before the stamp; a version that changes the layout takes the next
// value, and the functions refuse a room of another stamp as misconfigured
// (lib.lua's MISVERSION) rather than read it, whatever its length.
const stateLayout = 0x81

// packArgs packs a call's numbers: the function op names, then (the
// functions' args[1]) the room's check, now, p's windows, then extra,
// then p's limits (read only by a room's first call). A call of its own
// sends it without the op's byte (a[1:]); a batch sends it whole.
func packArgs(op byte, p Params, check string, now int64, extra ...int64) []byte {
	b := make([]byte, 0, 1+checkLen+8*(8+len(extra)))
	b = append(b, op, stateLayout)
	b = append(b, check[:checkLen-1]...)
	put := func(v int64) { b = binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(v))) }
	for _, v := range [...]int64{now, ms(p.Opening), p.ClaimWindow.Milliseconds(), p.SessionTTL.Milliseconds(), p.DrainWindow.Milliseconds()} {
		put(v)
	}
	for _, v := range extra {
		put(v)
	}
	for _, v := range [...]int64{int64(p.Rate), int64(p.Burst), int64(p.Cap)} {
		put(v)
	}
	return b
}

// The room's state as stored (lua/lib.lua, load): v, the check then
// vFields doubles (opening, e, rc, rate, burst, cap, pb, pc, sk, rq, mn,
// mx, lc, sf, sh), then h, hFields doubles (lt, la, tl, tk, n, s, ad, ac,
// nd, bz, mb, mc, sb). A record (RFMT): recFields doubles: i, p, j, c, a,
// d, r, ja, jc, jb. A record reply ends with one double packing the
// call's figures.
const (
	vFields   = 15
	hFields   = 13
	recFields = 10
	stateLen  = checkLen + 8*(vFields+hFields)
	recReply  = stateLen + 8*recFields + 8
)

// decodeReply turns a function's reply into v: for a record reply (the
// room's state, the record, the call's figures) the recordLen numbers
// parseRecord reads, code first; for a line reply (the room's state) the
// figuresLen numbers parseLine reads; for an array (a code other than OK
// and its numbers), its numbers. It returns how many it wrote.
func decodeReply(r any, v []int64) (int, error) {
	switch r := r.(type) {
	case []any:
		if len(r) > 0 && len(r) <= len(v) {
			ok := true
			for i, x := range r {
				n, isInt := x.(int64)
				ok = ok && isInt
				v[i] = n
			}
			if ok && v[0] != replyOK {
				return len(r), nil
			}
		}
	case string:
		switch {
		case len(r) == stateLen && len(v) >= figuresLen:
			if decodeFigures(r, v[:figuresLen]) {
				return figuresLen, nil
			}
		case len(r) == recReply && len(v) >= recordLen:
			var f [recFields + 1]float64
			if decodeFigures(r[:stateLen], v[15:recordLen]) && doubles(r[stateLen:], f[:]) && f[recFields] >= 0 {
				c := int64(f[recFields])
				// code, index, place, E, state, ahead, joined, admitted,
				// deadline, claimed, returning, returns, join ahead, join
				// drain count, join drain ms
				v[0], v[1], v[2], v[3], v[4], v[5] = replyOK, int64(f[0]), int64(f[1]), v[15+2], c>>2&3, c>>4-1
				v[6], v[7], v[8], v[9], v[10] = int64(f[2]), int64(f[4]), int64(f[3]), c>>1&1, c&1
				v[11], v[12], v[13], v[14] = int64(f[6]), int64(f[7]), int64(f[8]), int64(f[9])
				return recordLen, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: unexpected reply %v", ErrUnavailable, r)
}

// decodeFigures reads the room's figures (as parseLine wants them) from
// its stored state.
func decodeFigures(st string, v []int64) bool {
	if len(st) != stateLen {
		return false
	}
	var f [vFields + hFields]float64
	if !doubles(st[checkLen:], f[:]) {
		return false
	}
	e, rc, rate, burst, cap, pb, pc, sk := f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]
	mn, mx, lc, sf, sh := f[10], f[11], f[12], f[13], f[14]
	h := f[vFields:]
	n, s, ad, ac, mb, mc, sb := h[4], h[5], h[6], h[7], h[10], h[11], h[12]
	var dc, dm float64
	if pb > 0 {
		dc, dm = pc+mc, pb+mb
	}
	opened := 0.0
	if e >= 0 {
		opened = 1
	}
	// opened, N, E, S, active, returners, admitted, drain count, drain ms,
	// rate, burst, cap, min rate, max rate, limits changed, supply known,
	// free, held, budget
	for i, x := range [figuresLen]float64{opened, n, e, s, ac, rc, ad, dc, dm, rate, burst, cap, mn, mx, lc, sk, sf, sh, sb} {
		v[i] = int64(x)
	}
	return true
}

// doubles reads len(f) little-endian doubles from s, which must hold
// exactly that many.
func doubles(s string, f []float64) bool {
	if len(s) != 8*len(f) {
		return false
	}
	for i := range f {
		b := s[8*i : 8*i+8]
		f[i] = math.Float64frombits(uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56)
	}
	return true
}
