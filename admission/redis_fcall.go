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
// FUNCTION FLUSH). It returns the function's packed reply.
func (s *redisStore) fcall(ctx context.Context, fn string, keys []string, args ...any) (string, error) {
	v, err := s.c.FCall(ctx, fn, keys, args...).Text()
	if err != nil && isNoFunction(err) {
		if err := s.loadLib(ctx); err != nil {
			return "", err
		}
		v, err = s.c.FCall(ctx, fn, keys, args...).Text()
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

// unpackReply decodes a function's packed reply into v (its doubles, as
// integers); it returns the number of values.
func unpackReply(s string, v []int64) (int, error) {
	n := len(s) / 8
	if len(s)%8 != 0 || n > len(v) {
		return 0, fmt.Errorf("%w: unexpected reply of %d bytes", ErrUnavailable, len(s))
	}
	for i := range n {
		f := math.Float64frombits(binary.LittleEndian.Uint64([]byte(s[8*i : 8*i+8])))
		v[i] = int64(f)
	}
	return n, nil
}
