// The baseline of issue 2's target: Go's golang.org/x/mod/sumdb/tlog (the
// Debian package golang-golang-x-mod-dev) doing the same work as
// bench/merkle_bench.cc, on the same machine, in the same run. Run by
// bench/compare_go.sh; not part of the build or the tests.
package tlogbench

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

const storeSize = 1 << 20

// hashStore is an in-memory tlog.HashReader over stored hashes.
type hashStore []tlog.Hash

func (s hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = s[x]
	}
	return out, nil
}

func entry(i int64) []byte {
	e := make([]byte, 300)
	for b := range e {
		e[b] = byte(i)
	}
	binary.LittleEndian.PutUint64(e, uint64(i))
	return e
}

var store hashStore

func buildStore(b *testing.B) hashStore {
	if store != nil {
		return store
	}
	s := make(hashStore, 0, 2*storeSize+64)
	for i := int64(0); i < storeSize; i++ {
		hs, err := tlog.StoredHashes(i, entry(i), s)
		if err != nil {
			b.Fatal(err)
		}
		s = append(s, hs...)
	}
	store = s
	return s
}

func BenchmarkSha256Node(b *testing.B) {
	var buf [65]byte
	buf[0] = 1
	for i := 0; i < b.N; i++ {
		h := sha256.Sum256(buf[:])
		copy(buf[1:], h[:])
	}
}

func BenchmarkAppendEntry(b *testing.B) {
	s := make(hashStore, 0, 2*b.N+64)
	e := entry(7)
	for i := 0; i < b.N; i++ {
		hs, err := tlog.StoredHashes(int64(i), e, s)
		if err != nil {
			b.Fatal(err)
		}
		s = append(s, hs...)
	}
}

func benchProve(b *testing.B, size int64) {
	s := buildStore(b)
	r := rand.New(rand.NewSource(1))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tlog.ProveRecord(size, r.Int63n(size), s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInclusionProofGenerate_0(b *testing.B) { benchProve(b, storeSize) }
func BenchmarkInclusionProofGenerate_3(b *testing.B) { benchProve(b, storeSize-3) }

func BenchmarkInclusionProofVerify(b *testing.B) {
	s := buildStore(b)
	th, err := tlog.TreeHash(storeSize, s)
	if err != nil {
		b.Fatal(err)
	}
	type c struct {
		n     int64
		leaf  tlog.Hash
		proof tlog.RecordProof
	}
	r := rand.New(rand.NewSource(2))
	cases := make([]c, 1024)
	for i := range cases {
		n := r.Int63n(storeSize)
		p, err := tlog.ProveRecord(storeSize, n, s)
		if err != nil {
			b.Fatal(err)
		}
		cases[i] = c{n, tlog.RecordHash(entry(n)), p}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := cases[i%len(cases)]
		if err := tlog.CheckRecord(k.proof, storeSize, th, k.n, k.leaf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConsistencyProofGenerate(b *testing.B) {
	s := buildStore(b)
	r := rand.New(rand.NewSource(3))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 1 + r.Int63n(storeSize)
		o := 1 + r.Int63n(n)
		if _, err := tlog.ProveTree(n, o, s); err != nil {
			b.Fatal(err)
		}
	}
}
