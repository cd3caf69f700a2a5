package pgstoretest

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/certwright/certwright/csr"
)

// TestSQLStoreLoad: a fleet writing at once. Several connection pools
// (one per "machine", each with its own SQLStore, half of them with
// SERIALIZABLE as their default isolation) and many writers put
// requests, race to put the same hot keys, and race to complete the same
// requests from every machine. Afterwards every acknowledged Put is found
// with a key that matches its public key, every hot key was won exactly
// once, and every raced Complete archived its request exactly once.
func TestSQLStoreLoad(t *testing.T) {
	const (
		machines   = 4
		writers    = 32
		puts       = 50 // per writer
		completeAt = 10 // every 10th Put of a writer is completed by all machines at once
		hotKeys    = 8  // keys every writer tries to put
	)
	ctx := context.Background()
	schema := freshSchema(t, openDB(t))
	kek := newKEK(t)
	stores := make([]*csr.SQLStore, machines)
	for m := range stores {
		// Half the fleet's connections default to SERIALIZABLE.
		params := ""
		if m%2 == 1 {
			params = "default_transaction_isolation=serializable"
		}
		db := openDBParams(t, params)
		db.SetMaxOpenConns(writers / machines)
		stores[m] = open(t, db, &csr.SQLOptions{Schema: schema, KEK: kek})
	}
	hot := make([]*csr.Pending, hotKeys)
	for i := range hot {
		hot[i] = mustPending(t, fmt.Sprintf("hot%d.example", i))
	}

	type result struct {
		put       []*csr.Pending
		completed map[string]bool
		hotWins   []string
		completes int
		errs      []error
	}
	results := make([]result, writers)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[w]
			r.completed = map[string]bool{}
			s := stores[w%machines]
			fail := func(err error) { r.errs = append(r.errs, err) }
			for _, h := range hot {
				q := &csr.Pending{Key: h.Key, CSR: h.CSR}
				err := s.Put(ctx, q)
				switch {
				case err == nil:
					r.hotWins = append(r.hotWins, q.ID)
				case !errors.Is(err, csr.ErrExists):
					fail(fmt.Errorf("hot key Put: %w", err))
				}
			}
			for i := range puts {
				p, err := newPending(fmt.Sprintf("w%d-%d.fleet.example", w, i))
				if err != nil {
					fail(err)
					return
				}
				if err := s.Put(ctx, p); err != nil {
					fail(fmt.Errorf("Put %d of writer %d: %w", i, w, err))
					continue
				}
				r.put = append(r.put, p)
				if i%completeAt != completeAt-1 {
					continue
				}
				// Every machine completes it at once.
				errs := make([]error, machines)
				var cw sync.WaitGroup
				for m := range machines {
					cw.Add(1)
					go func() {
						defer cw.Done()
						errs[m] = stores[m].Complete(ctx, p.ID)
					}()
				}
				cw.Wait()
				r.completes += machines
				if err := errors.Join(errs...); err != nil {
					fail(fmt.Errorf("concurrent Complete of %s: %w", p.ID, err))
				}
				r.completed[p.ID] = true
			}
		}()
	}
	hotIDs := make([]string, hotKeys)
	for i, h := range hot {
		id, _ := csr.KeyID(h.Key.Public())
		hotIDs[i] = id
	}
	wg.Wait()
	elapsed := time.Since(start)

	var all []*csr.Pending
	completed := map[string]bool{}
	wins := map[string]int{}
	completes := 0
	for _, r := range results {
		for _, err := range r.errs {
			t.Error(err)
		}
		all = append(all, r.put...)
		for id := range r.completed {
			completed[id] = true
		}
		for _, id := range r.hotWins {
			wins[id]++
		}
		completes += r.completes
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, id := range hotIDs {
		if wins[id] != 1 {
			t.Errorf("hot key %s was put by %d of %d writers; want exactly 1", id, wins[id], writers)
		}
	}

	// Nothing lost: every acknowledged Put, read back through another
	// machine, with its key.
	lost := 0
	for i, p := range all {
		s := stores[(i+1)%machines]
		var got *csr.Pending
		var err error
		if completed[p.ID] {
			got, err = s.FindArchived(ctx, p.Key.Public())
		} else {
			got, err = s.Find(ctx, p.Key.Public())
		}
		if err != nil || !keyMatches(got) || !p.Key.(interface{ Equal(crypto.PrivateKey) bool }).Equal(got.Key) {
			lost++
			t.Errorf("acknowledged Put of %s: %v", p.ID, err)
		}
	}
	pending, err := stores[0].List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	archived, err := stores[1].Archived(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantPending := len(all) - len(completed) + hotKeys
	if len(pending) != wantPending || len(archived) != len(completed) {
		t.Errorf("%d pending and %d archived requests; want %d and %d", len(pending), len(archived), wantPending, len(completed))
	}
	// Each raced Complete archived its request once: one archived row
	// per key, nothing else.
	db := openDB(t)
	var dupes int
	if err := db.QueryRow(`SELECT count(*) FROM (SELECT key_id FROM "` + schema + `"."certwright_pending"
		WHERE completed_at IS NOT NULL GROUP BY key_id HAVING count(*) <> 1) d`).Scan(&dupes); err != nil || dupes != 0 {
		t.Errorf("%d keys archived more than once (%v)", dupes, err)
	}
	total := len(all) + hotKeys
	t.Logf("%d machines, %d writers: %d acknowledged Puts (%d hot-key races of %d writers each, %d Completes racing in groups of %d) in %v (%.0f Puts/s); lost %d",
		machines, writers, total, hotKeys, writers, completes, machines, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), lost)
	if total != writers*puts+hotKeys {
		t.Errorf("%d Puts acknowledged, want %d", total, writers*puts+hotKeys)
	}
}
