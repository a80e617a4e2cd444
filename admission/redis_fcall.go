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

	fnJoin    = libName + "_join"
	fnStatus  = libName + "_status"
	fnDone    = libName + "_done"
	fnAdvance = libName + "_advance"
	fnLimits  = libName + "_limits"
	fnSupply  = libName + "_supply"
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

// checkLen is the length of a room's check: the start of its seed
// commitment, compared by every call with the one the room was created
// with (with the opening), to find instances that disagree.
const checkLen = 16

// packArgs packs a call's numbers (the functions' args[1]): the room's
// check, now, p's figures, then extra.
func packArgs(p Params, check string, now int64, extra ...int64) []byte {
	b := make([]byte, 0, checkLen+8*(8+len(extra)))
	b = append(b, check[:checkLen]...)
	for _, v := range [...]int64{now, ms(p.Opening), p.ClaimWindow.Milliseconds(), p.SessionTTL.Milliseconds(),
		p.DrainWindow.Milliseconds(), int64(p.Rate), int64(p.Burst), int64(p.Cap)} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(v)))
	}
	for _, v := range extra {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(v)))
	}
	return b
}

// decodeReply turns a function's reply into v: for a record reply (OK,
// the room's state, the record, state, ahead, claimed, returning) the
// recordLen numbers parseRecord reads; for a line reply (OK, the room's
// state) the figuresLen numbers parseLine reads; for another code, its
// numbers. It returns how many it wrote.
func decodeReply(r any, v []int64) (int, error) {
	a, ok := r.([]any)
	if !ok || len(a) == 0 {
		return 0, fmt.Errorf("%w: unexpected reply %v", ErrUnavailable, r)
	}
	ints := func(a []any, v []int64) bool {
		for i, x := range a {
			n, ok := x.(int64)
			if !ok {
				return false
			}
			v[i] = n
		}
		return true
	}
	code, ok := a[0].(int64)
	switch {
	case !ok:
	case code != replyOK:
		if len(a) <= len(v) && ints(a, v) {
			return len(a), nil
		}
	case len(a) == 2 && len(v) >= figuresLen:
		if st, ok := a[1].(string); ok && decodeFigures(st, v[:figuresLen]) {
			return figuresLen, nil
		}
	case len(a) == 7 && len(v) >= recordLen:
		st, ok1 := a[1].(string)
		rec, ok2 := a[2].(string)
		var x [4]int64
		if ok1 && ok2 && ints(a[3:], x[:]) && decodeFigures(st, v[15:recordLen]) {
			var f [recFields]float64
			if doubles(rec, f[:]) {
				// code, index, place, E, state, ahead, joined, admitted,
				// deadline, claimed, returning, returns, join ahead, join
				// drain count, join drain ms
				v[0], v[1], v[2], v[3], v[4], v[5] = replyOK, int64(f[0]), int64(f[1]), v[15+2], x[0], x[1]
				v[6], v[7], v[8], v[9], v[10] = int64(f[2]), int64(f[4]), int64(f[3]), x[2], x[3]
				v[11], v[12], v[13], v[14] = int64(f[6]), int64(f[7]), int64(f[8]), int64(f[9])
				return recordLen, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: unexpected reply %v", ErrUnavailable, r)
}

// The room's state as stored (lua/lib.lua, SFMT): the check, then
// stateFields doubles: opening, lt, la, tl, tk, n, e, s, ad, rq, rate,
// burst, cap, ac, nd, rc, bz, mb, mc, pb, pc, mn, mx, lc, sk, sf, sh, sb.
// A record (RFMT): recFields doubles: i, p, j, c, a, d, r, ja, jc, jb.
const (
	stateFields = 28
	recFields   = 10
)

// decodeFigures reads the room's figures (as parseLine wants them) from
// its stored state.
func decodeFigures(st string, v []int64) bool {
	if len(st) < checkLen {
		return false
	}
	var f [stateFields]float64
	if !doubles(st[checkLen:], f[:]) {
		return false
	}
	n, e, s, ad := f[5], f[6], f[7], f[8]
	rate, burst, cap, ac, rc := f[10], f[11], f[12], f[13], f[15]
	mb, mc, pb, pc := f[17], f[18], f[19], f[20]
	mn, mx, lc, sk, sf, sh, sb := f[21], f[22], f[23], f[24], f[25], f[26], f[27]
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
