package pgstoretest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/certwright/certwright/csr"
)

// BenchmarkPut compares a Put into SQLStore (one INSERT, committed) with
// a Put into DirStore (files fsynced, folder renamed) on this machine,
// and Find likewise. Keys are made before the timer starts.
func BenchmarkPut(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			ps := make([]*csr.Pending, b.N)
			for i := range ps {
				ps[i] = mustPending(b, fmt.Sprintf("b%d.example", i))
			}
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				if err := st.s.Put(ctx, ps[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFind(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			ctx := context.Background()
			const n = 100
			ps := make([]*csr.Pending, n)
			for i := range ps {
				ps[i] = mustPending(b, fmt.Sprintf("f%d.example", i))
				if err := st.s.Put(ctx, ps[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				if _, err := st.s.Find(ctx, ps[i%n].Key.Public()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type benchStore struct {
	name string
	s    csr.Store
}

func benchStores(b *testing.B) []benchStore {
	db := openDB(b)
	dir, err := csr.OpenDir(filepath.Join(b.TempDir(), "store"), nil)
	if err != nil {
		b.Fatal(err)
	}
	return []benchStore{
		{"SQLStore", open(b, db, &csr.SQLOptions{Schema: freshSchema(b, db), KEK: newKEK(b)})},
		{"DirStore", dir},
	}
}
