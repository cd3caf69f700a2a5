package storetest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certwright/certwright/csr"
)

// Archiver is implemented by stores that keep completed requests and can
// read them back, as csr.DirStore and csr.SQLStore do. Run tests these
// methods when the store has them.
type Archiver interface {
	// Archived returns the completed requests, oldest completion first.
	Archived(ctx context.Context) ([]*csr.Pending, error)
	// FindArchived returns the latest completed request for pub, or an
	// error wrapping csr.ErrNotFound.
	FindArchived(ctx context.Context, pub crypto.PublicKey) (*csr.Pending, error)
}

// Remover is implemented by stores that can delete archived requests.
type Remover interface {
	// RemoveArchived deletes every archived copy of key id and returns how
	// many; csr.ErrNotFound when there is none. Pending requests are kept.
	RemoveArchived(ctx context.Context, id string) (int, error)
}

// Run checks that the stores open makes keep the csr.Store contract, each
// check a subtest of t. open is called once per subtest and must return a
// new, empty store; it may register cleanups with t and should skip or
// fail t when it cannot make one.
func Run(t *testing.T, open func(t *testing.T) csr.Store) {
	tests := []struct {
		name string
		f    func(t *testing.T, s csr.Store)
	}{
		{"PutFind", testPutFind},
		{"ListOldestFirst", testListOldestFirst},
		{"Complete", testComplete},
		{"CompleteUnknown", testCompleteUnknown},
		{"FindUnknown", testFindUnknown},
		{"PutNeverOverwrites", testPutNeverOverwrites},
		{"KeyURI", testKeyURI},
		{"RefusesInconsistent", testRefusesInconsistent},
		{"ConcurrentPuts", testConcurrentPuts},
		{"ConcurrentComplete", testConcurrentComplete},
		{"CanceledContext", testCanceledContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			tt.f(t, s)
		})
	}
}

// newPending makes a P-256 key and a signed CSR for host.
func newPending(t testing.TB, host string) *csr.Pending {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &csr.Pending{Key: key, CSR: request(t, host, key)}
}

func request(t testing.TB, host string, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: host, Organization: []string{"Example Ltd"}},
		DNSNames: []string{host},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func keyID(t testing.TB, k crypto.Signer) string {
	t.Helper()
	id, err := csr.KeyID(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func sameKey(a, b crypto.Signer) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	e, ok := a.(interface{ Equal(crypto.PrivateKey) bool })
	return ok && e.Equal(b)
}

// checkSame fails unless got is the entry want as Put left it.
func checkSame(t testing.TB, what string, got, want *csr.Pending) {
	t.Helper()
	switch {
	case got.ID != want.ID:
		t.Fatalf("%s: ID %s, want %s", what, got.ID, want.ID)
	case !sameKey(got.Key, want.Key):
		t.Fatalf("%s: the key of %s is not the key put", what, want.ID)
	case got.KeyURI != want.KeyURI:
		t.Fatalf("%s: KeyURI %q, want %q", what, got.KeyURI, want.KeyURI)
	case !bytes.Equal(got.CSR, want.CSR):
		t.Fatalf("%s: the CSR of %s is not the CSR put", what, want.ID)
	case got.Subject != want.Subject:
		t.Fatalf("%s: Subject %q, want %q", what, got.Subject, want.Subject)
	case !slices.Equal(got.SANs, want.SANs):
		t.Fatalf("%s: SANs %q, want %q", what, got.SANs, want.SANs)
	case !got.Created.Equal(want.Created):
		t.Fatalf("%s: Created %v, want %v (the value Put set)", what, got.Created, want.Created)
	}
}

func ids(ps []*csr.Pending) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

func testPutFind(t *testing.T, s csr.Store) {
	ctx := context.Background()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ps := []*csr.Pending{
		newPending(t, "p256.example"),
		{Key: rsaKey, CSR: request(t, "rsa.example", rsaKey)},
		{Key: edKey, CSR: request(t, "ed25519.example", edKey)},
	}
	hosts := []string{"p256.example", "rsa.example", "ed25519.example"}
	for i, p := range ps {
		if err := s.Put(ctx, p); err != nil {
			t.Fatalf("Put %s: %v", hosts[i], err)
		}
		if p.ID != keyID(t, p.Key) {
			t.Fatalf("Put set ID %q, want the KeyID %q", p.ID, keyID(t, p.Key))
		}
		if p.Subject != "CN="+hosts[i]+",O=Example Ltd" || !slices.Equal(p.SANs, []string{"DNS:" + hosts[i]}) {
			t.Fatalf("Put filled Subject %q and SANs %q from the CSR", p.Subject, p.SANs)
		}
		if p.Created.IsZero() {
			t.Fatal("Put left Created zero")
		}
	}
	for _, p := range ps {
		got, err := s.Find(ctx, p.Key.Public())
		if err != nil {
			t.Fatalf("Find %s: %v", p.Subject, err)
		}
		checkSame(t, "Find", got, p)
		if !got.Completed.IsZero() {
			t.Fatalf("Find: a pending entry has Completed %v", got.Completed)
		}
		// The key found signs for the certificate's public key.
		digest := make([]byte, 32)
		opts := crypto.Hash(crypto.SHA256)
		if _, ok := got.Key.(ed25519.PrivateKey); ok {
			opts = crypto.Hash(0)
		}
		if _, err := got.Key.Sign(rand.Reader, digest, opts); err != nil {
			t.Fatalf("the key found cannot sign: %v", err)
		}
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(ps) {
		t.Fatalf("List returned %d entries, want %d", len(list), len(ps))
	}
	for _, got := range list {
		i := slices.IndexFunc(ps, func(p *csr.Pending) bool { return p.ID == got.ID })
		if i < 0 {
			t.Fatalf("List returned %s, which was never put", got.ID)
		}
		checkSame(t, "List", got, ps[i])
	}
	// An explicit Created is kept (whole seconds survive any store's
	// precision).
	p := newPending(t, "dated.example")
	p.Created = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := s.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Find(ctx, p.Key.Public()); err != nil || !got.Created.Equal(p.Created) {
		t.Fatalf("Find of an entry created at %v: %v, %v", p.Created, got, err)
	}
}

func testListOldestFirst(t *testing.T, s csr.Store) {
	ctx := context.Background()
	base := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var ps []*csr.Pending
	for i, hours := range []int{2, 0, 1, 3} {
		p := newPending(t, fmt.Sprintf("h%d.example", i))
		p.Created = base.Add(time.Duration(hours) * time.Hour)
		if err := s.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if err := s.Complete(ctx, ps[3].ID); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ps[1].ID, ps[2].ID, ps[0].ID}
	if got := ids(list); !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v (pending only, oldest first)", got, want)
	}
}

func testComplete(t *testing.T, s csr.Store) {
	ctx := context.Background()
	a, b := newPending(t, "a.example"), newPending(t, "b.example")
	for _, p := range []*csr.Pending{a, b} {
		if err := s.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Complete(ctx, a.ID); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	_, err := s.Find(ctx, a.Key.Public())
	if !errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("Find after Complete = %v, want ErrNotFound (archived entries are not pending)", err)
	}
	for _, want := range []string{"sha256:" + a.ID, "searched 1 pending request", "archived"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Find after Complete: the message %q lacks %q", err, want)
		}
	}
	if list, err := s.List(ctx); err != nil || !slices.Equal(ids(list), []string{b.ID}) {
		t.Fatalf("List after Complete = %v, %v; want only %s", ids(list), err, b.ID)
	}
	ar, archives := s.(Archiver)
	var first time.Time
	if archives {
		got, err := ar.FindArchived(ctx, a.Key.Public())
		if err != nil {
			t.Fatalf("FindArchived: %v", err)
		}
		first = got.Completed
	}
	// A retry is safe, in any spelling of the ID, and changes nothing.
	for _, id := range []string{a.ID, "sha256:" + strings.ToUpper(a.ID)} {
		if err := s.Complete(ctx, id); err != nil {
			t.Fatalf("Complete(%s) of an archived entry = %v, want nil (a retry)", id, err)
		}
	}
	if got, err := s.Find(ctx, b.Key.Public()); err != nil {
		t.Fatalf("Complete of another key disturbed %s: %v", b.ID, err)
	} else {
		checkSame(t, "Find", got, b)
	}
	if !archives {
		return
	}
	got, err := ar.FindArchived(ctx, a.Key.Public())
	if err != nil {
		t.Fatalf("FindArchived: %v", err)
	}
	if got.Completed.IsZero() || got.Completed.Before(got.Created) {
		t.Fatalf("archived entry: Completed %v, Created %v", got.Completed, got.Created)
	}
	if !got.Completed.Equal(first) {
		t.Fatalf("a retried Complete moved the completion time from %v to %v", first, got.Completed)
	}
	got.Completed = time.Time{}
	checkSame(t, "FindArchived", got, a)
	all, err := ar.Archived(ctx)
	if err != nil || !slices.Equal(ids(all), []string{a.ID}) {
		t.Fatalf("Archived = %v, %v; want [%s] (a retried Complete archives once)", ids(all), err, a.ID)
	}
	if _, err := ar.FindArchived(ctx, b.Key.Public()); !errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("FindArchived of a pending key = %v, want ErrNotFound", err)
	}
}

func testCompleteUnknown(t *testing.T, s csr.Store) {
	ctx := context.Background()
	p := newPending(t, "a.example")
	if err := s.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	other := keyID(t, newPending(t, "other.example").Key)
	if err := s.Complete(ctx, other); !errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("Complete of a key never put = %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "../../etc", p.ID[:63], p.ID + "0", strings.Repeat("g", 64), "../" + p.ID[3:], p.ID + "' OR '1'='1"} {
		if err := s.Complete(ctx, bad); err == nil || errors.Is(err, csr.ErrNotFound) {
			t.Errorf("Complete(%q) = %v, want a key ID syntax error", bad, err)
		}
	}
	if _, err := s.Find(ctx, p.Key.Public()); err != nil {
		t.Fatalf("refused Completes disturbed the pending entry: %v", err)
	}
}

func testFindUnknown(t *testing.T, s csr.Store) {
	ctx := context.Background()
	if err := s.Put(ctx, newPending(t, "a.example")); err != nil {
		t.Fatal(err)
	}
	other := newPending(t, "other.example")
	_, err := s.Find(ctx, other.Key.Public())
	if !errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("Find of a key never put = %v, want ErrNotFound", err)
	}
	for _, want := range []string{"sha256:" + keyID(t, other.Key), "searched 1 pending request"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the message %q lacks %q", err, want)
		}
	}
	if ar, ok := s.(Archiver); ok {
		if _, err := ar.FindArchived(ctx, other.Key.Public()); !errors.Is(err, csr.ErrNotFound) {
			t.Fatalf("FindArchived of a key never put = %v, want ErrNotFound", err)
		}
	}
	if _, err := s.Find(ctx, struct{}{}); err == nil || errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("Find of an unsupported public key type = %v, want an error saying so", err)
	}
}

func testPutNeverOverwrites(t *testing.T, s csr.Store) {
	ctx := context.Background()
	p := newPending(t, "a.example")
	if err := s.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	// The same key with another request and subject.
	again := &csr.Pending{Key: p.Key, CSR: request(t, "b.example", p.Key)}
	err := s.Put(ctx, again)
	if !errors.Is(err, csr.ErrExists) {
		t.Fatalf("Put of a pending key = %v, want ErrExists", err)
	}
	for _, want := range []string{"sha256:" + p.ID, "a.example", "untouched"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the ErrExists message %q lacks %q", err, want)
		}
	}
	got, err := s.Find(ctx, p.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, "Find after a refused Put", got, p)
	if list, _ := s.List(ctx); len(list) != 1 {
		t.Fatalf("a refused Put left %d entries", len(list))
	}

	// After Complete the key can be put again (a renewal that reuses it).
	if err := s.Complete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, again); err != nil {
		t.Fatalf("Put of a completed key: %v", err)
	}
	if got, err := s.Find(ctx, p.Key.Public()); err != nil {
		t.Fatal(err)
	} else {
		checkSame(t, "Find of the new request", got, again)
	}
	if err := s.Complete(ctx, again.ID); err != nil {
		t.Fatal(err)
	}
	if ar, ok := s.(Archiver); ok {
		all, err := ar.Archived(ctx)
		if err != nil || len(all) != 2 {
			t.Fatalf("Archived = %d entries, %v; want both requests of the key", len(all), err)
		}
		last, err := ar.FindArchived(ctx, p.Key.Public())
		if err != nil || !bytes.Equal(last.CSR, again.CSR) {
			t.Fatalf("FindArchived did not return the latest request: %v", err)
		}
	}
	rm, ok := s.(Remover)
	if !ok {
		return
	}
	if err := s.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	if n, err := rm.RemoveArchived(ctx, p.ID); err != nil || n != 2 {
		t.Fatalf("RemoveArchived = %d, %v; want 2", n, err)
	}
	if got, err := s.Find(ctx, p.Key.Public()); err != nil {
		t.Fatalf("RemoveArchived touched the pending entry: %v", err)
	} else {
		checkSame(t, "Find after RemoveArchived", got, p)
	}
	if _, err := rm.RemoveArchived(ctx, p.ID); !errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("RemoveArchived with nothing archived = %v, want ErrNotFound", err)
	}
}

func testKeyURI(t *testing.T, s csr.Store) {
	ctx := context.Background()
	hw := newPending(t, "hsm.example")
	const uri = "pkcs11:token=prod;object=web%20key;type=private"
	p := &csr.Pending{KeyURI: uri, CSR: hw.CSR}
	if err := s.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p.ID != keyID(t, hw.Key) {
		t.Fatalf("Put set ID %s, want the CSR's key ID %s", p.ID, keyID(t, hw.Key))
	}
	got, err := s.Find(ctx, hw.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != nil {
		t.Fatal("Find returned a Key for an entry with only a KeyURI")
	}
	checkSame(t, "Find", got, p)
	if list, err := s.List(ctx); err != nil || len(list) != 1 || list[0].KeyURI != uri {
		t.Fatalf("List = %v, %v", ids(list), err)
	}
	if err := s.Complete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if ar, ok := s.(Archiver); ok {
		if a, err := ar.FindArchived(ctx, hw.Key.Public()); err != nil || a.KeyURI != uri || a.Key != nil {
			t.Fatalf("FindArchived = %v, %v", a, err)
		}
	}
}

// opaqueSigner hides the key type, as a hardware key does.
type opaqueSigner struct{ crypto.Signer }

func testRefusesInconsistent(t *testing.T, s csr.Store) {
	ctx := context.Background()
	a, b := newPending(t, "a.example"), newPending(t, "b.example")
	badSig := bytes.Clone(a.CSR)
	badSig[len(badSig)-3] ^= 0xff
	tests := []struct {
		name string
		p    *csr.Pending
	}{
		{"CSR of another key", &csr.Pending{Key: a.Key, CSR: b.CSR}},
		{"malformed ID", &csr.Pending{Key: a.Key, CSR: a.CSR, ID: "xyz" + keyID(t, b.Key)}},
		{"ID of another key", &csr.Pending{Key: a.Key, CSR: a.CSR, ID: keyID(t, b.Key)}},
		{"no key at all", &csr.Pending{CSR: a.CSR}},
		{"key URI without CSR", &csr.Pending{KeyURI: "pkcs11:object=k"}},
		{"key URI with a PIN", &csr.Pending{KeyURI: "pkcs11:token=prod;object=k?pin-value=1234", CSR: a.CSR}},
		{"key that cannot be exported", &csr.Pending{Key: opaqueSigner{a.Key}, CSR: a.CSR}},
		{"CSR not DER", &csr.Pending{Key: a.Key, CSR: []byte("-----BEGIN")}},
		{"CSR with a bad signature", &csr.Pending{Key: a.Key, CSR: badSig}},
	}
	for _, tt := range tests {
		if err := s.Put(ctx, tt.p); err == nil {
			t.Errorf("Put of an entry with a %s succeeded", tt.name)
		}
	}
	if err := s.Put(ctx, nil); err == nil {
		t.Error("Put(nil) succeeded")
	}
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("refused Puts left %d entries (%v)", len(list), err)
	}
}

// testConcurrentPuts: goroutines put distinct keys while others race to
// put one key; every acknowledged Put is found, and of the racing Puts
// exactly one wins.
func testConcurrentPuts(t *testing.T, s csr.Store) {
	ctx := context.Background()
	const workers, each = 8, 4
	var (
		mu   sync.Mutex
		put  []*csr.Pending
		wg   sync.WaitGroup
		wins int
		lost int
	)
	todo := make([][]*csr.Pending, workers)
	for w := range todo {
		for i := range each {
			todo[w] = append(todo[w], newPending(t, fmt.Sprintf("w%d-%d.example", w, i)))
		}
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, p := range todo[w] {
				if err := s.Put(ctx, p); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				put = append(put, p)
				mu.Unlock()
			}
		}()
	}
	same := newPending(t, "same.example")
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Put(ctx, &csr.Pending{Key: same.Key, CSR: same.CSR})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, csr.ErrExists):
				lost++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if wins != 1 || lost != workers-1 {
		t.Fatalf("the same key put from %d goroutines: %d succeeded and %d got ErrExists; want 1 and %d", workers, wins, lost, workers-1)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != workers*each+1 {
		t.Fatalf("List returned %d entries after %d Puts", len(list), workers*each+1)
	}
	for _, p := range put {
		got, err := s.Find(ctx, p.Key.Public())
		if err != nil {
			t.Fatalf("an acknowledged Put was lost: %v", err)
		}
		checkSame(t, "Find", got, p)
	}
}

// testConcurrentComplete: goroutines complete one entry at once; all
// succeed and it is archived exactly once.
func testConcurrentComplete(t *testing.T, s csr.Store) {
	ctx := context.Background()
	p := newPending(t, "a.example")
	if err := s.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	const workers = 8
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Complete(ctx, p.ID)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a concurrent Complete failed: %v", err)
		}
	}
	if _, err := s.Find(ctx, p.Key.Public()); !errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("Find after Complete = %v, want ErrNotFound", err)
	}
	if ar, ok := s.(Archiver); ok {
		if all, err := ar.Archived(ctx); err != nil || len(all) != 1 {
			t.Fatalf("%d concurrent Completes archived %d copies (%v); want exactly 1", workers, len(all), err)
		}
	}
}

func testCanceledContext(t *testing.T, s csr.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := newPending(t, "a.example")
	if err := s.Put(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a canceled context = %v, want context.Canceled", err)
	}
	if _, err := s.Find(ctx, p.Key.Public()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Find with a canceled context = %v", err)
	}
	if err := s.Complete(ctx, keyID(t, p.Key)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Complete with a canceled context = %v", err)
	}
	if list, err := s.List(context.Background()); err != nil || len(list) != 0 {
		t.Fatalf("a canceled Put stored %d entries (%v)", len(list), err)
	}
}
