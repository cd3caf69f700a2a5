//go:build cgo && !nopkcs11

package hsm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/bundle"
	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/examples/internal/hsm/hsmtest"
	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
	mp11 "github.com/miekg/pkcs11"
)

func TestMain(m *testing.M) {
	code := m.Run()
	hsmtest.Cleanup()
	os.Exit(code)
}

// TestTokenKeyLifecycle is the whole workflow against SoftHSM2, for each
// key type: the key is generated in the token and cannot leave it, the CSR
// it signs verifies with openssl, the pending store holds only the key's
// URI (no key file, no PIN), a certificate issued for it is completed
// through bundle.Complete with a fresh Resolver (as a later run of the
// program would), and a TLS handshake on 127.0.0.1 is signed in the token.
func TestTokenKeyLifecycle(t *testing.T) {
	tok := hsmtest.SoftHSM(t)
	openssl := testtool.Require(t, "openssl")
	for _, kt := range []csr.KeyType{csr.P256, csr.RSA2048} {
		t.Run(string(kt), func(t *testing.T) {
			ctx := context.Background()
			r := &Resolver{PIN: tok.PINFunc()}
			defer r.Close()
			signer, u, err := r.GenerateKey(ctx, KeyRequest{Module: tok.Module, Token: tok.Label, Label: "lifecycle-" + string(kt), Type: kt})
			if err != nil {
				t.Fatal(err)
			}
			switch pub := signer.Public().(type) {
			case *ecdsa.PublicKey:
				if kt != csr.P256 || pub.Curve != elliptic.P256() {
					t.Fatalf("a %s request made an ECDSA %s key", kt, pub.Curve.Params().Name)
				}
			case *rsa.PublicKey:
				if kt != csr.RSA2048 || pub.N.BitLen() != 2048 {
					t.Fatalf("a %s request made an RSA %d key", kt, pub.N.BitLen())
				}
			default:
				t.Fatalf("public key %T", pub)
			}
			uri := u.String()
			if strings.Contains(uri, "pin") || strings.Contains(uri, tok.PIN) {
				t.Fatalf("the key URI carries a PIN: %s", uri)
			}
			if !strings.Contains(uri, "token="+tok.Label) || !strings.Contains(uri, "module-path="+tok.Module) {
				t.Fatalf("the key URI does not name the token and module: %s", uri)
			}

			// The key cannot leave the token.
			info, err := r.Inspect(ctx, uri)
			if err != nil {
				t.Fatal(err)
			}
			if !info.StaysInToken() || !info.NeverExtractable || !info.AlwaysSensitive || !info.Local {
				t.Fatalf("token key attributes: %s", info)
			}
			if !isCKR(info.SecretReadErr, mp11.CKR_ATTRIBUTE_SENSITIVE) {
				t.Fatalf("reading the private value gave %v, want CKR_ATTRIBUTE_SENSITIVE", info.SecretReadErr)
			}
			_, wrapErr := wrapKey(t, tok, u)
			if !isCKR(wrapErr, mp11.CKR_KEY_UNEXTRACTABLE) {
				t.Fatalf("wrapping (exporting) the key gave %v, want CKR_KEY_UNEXTRACTABLE", wrapErr)
			}
			t.Logf("%s: %s; C_WrapKey: %v", uri, info, wrapErr)

			// The CSR, signed in the token, verifies with openssl.
			der, _, err := csr.Create(nil, &csr.Request{CN: "hsm.example.com", O: "Example Ltd", C: "GB"}, signer, nil)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			csrFile := filepath.Join(dir, "www.csr")
			if err := os.WriteFile(csrFile, csr.EncodePEM(der), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(openssl, "req", "-in", csrFile, "-noout", "-verify").CombinedOutput(); err != nil || !strings.Contains(string(out), "verify OK") {
				t.Fatalf("openssl req -verify: %v\n%s", err, out)
			}

			// The store holds the URI and the CSR, no key and no PIN.
			storeDir := filepath.Join(dir, "pending")
			store, err := csr.OpenDir(storeDir, nil)
			if err != nil {
				t.Fatal(err)
			}
			p := &csr.Pending{KeyURI: uri, CSR: der}
			if err := store.Put(ctx, p); err != nil {
				t.Fatal(err)
			}
			assertNoSecrets(t, storeDir, tok.PIN)
			if _, err := os.Stat(filepath.Join(storeDir, "pending", p.ID, "key.pem")); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the store has a key file for a token key: %v", err)
			}
			meta, err := os.ReadFile(filepath.Join(storeDir, "pending", p.ID, "meta.json"))
			if err != nil || !strings.Contains(string(meta), `"key_uri"`) {
				t.Fatalf("meta.json = %s, %v", meta, err)
			}

			// The CA issues; a later run completes with a fresh Resolver.
			root := testpki.Root(t, "HSM Test Root")
			inter := root.Intermediate(t, "HSM Test Intermediate")
			leaf, _ := inter.Leaf(t, signer.Public(), "hsm.example.com")
			r.Close()
			later := &Resolver{PIN: tok.PINFunc()}
			defer later.Close()
			done, err := bundle.Complete(ctx, store, []bundle.Input{{Name: "leaf.cer", Data: leaf.Raw}, {Name: "inter.cer", Data: inter.Cert.Raw}}, &bundle.CompleteOptions{
				Roots: []*x509.Certificate{root.Cert}, Chain: &chain.Options{CurrentTime: testpki.Now}, KeyResolver: later,
			})
			if err != nil {
				t.Fatal(err)
			}
			c := done[0]
			out := filepath.Join(dir, "out")
			if _, err := c.Write(out, bundle.Nginx, nil); !errors.Is(err, bundle.ErrKeyNotExportable) {
				t.Fatalf("writing privkey.pem for a token key: %v, want ErrKeyNotExportable", err)
			}
			written, err := c.WriteCertificates(out, nil)
			if err != nil || len(written) != 3 {
				t.Fatalf("WriteCertificates = %v, %v", written, err)
			}
			if err := c.Finish(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := store.Find(ctx, signer.Public()); !errors.Is(err, csr.ErrNotFound) {
				t.Fatalf("the request is still pending after Finish: %v", err)
			}
			assertNoSecrets(t, dir, tok.PIN)

			// Serving: the handshake is signed by the token key.
			tlsHandshake(t, c.Bundle, root.Cert, "hsm.example.com")
		})
	}
}

// TestInspectDetectsExtractableKey is the control for the checks above: a
// key made extractable and not sensitive (directly through PKCS#11) is
// reported so, its private value is handed out, and it can be wrapped.
func TestInspectDetectsExtractableKey(t *testing.T) {
	tok := hsmtest.SoftHSM(t)
	ctx := context.Background()
	r := &Resolver{PIN: tok.PINFunc()}
	defer r.Close()
	u := &URI{Module: tok.Module, Token: tok.Label, ID: []byte{0xc0, 0x01}, Object: "control-extractable"}
	// Open (and log in) through the resolver, then make the key beside it.
	if _, err := r.open(ctx, u); err != nil {
		t.Fatal(err)
	}
	err := withModule(tok.Module, func(p *mp11.Ctx) error {
		slot, err := findSlot(p, tok.Module, tok.Label)
		if err != nil {
			return err
		}
		sh, err := p.OpenSession(slot, mp11.CKF_SERIAL_SESSION|mp11.CKF_RW_SESSION)
		if err != nil {
			return err
		}
		defer p.CloseSession(sh)
		params, _ := asn1P256()
		_, _, err = p.GenerateKeyPair(sh, []*mp11.Mechanism{mp11.NewMechanism(mp11.CKM_EC_KEY_PAIR_GEN, nil)},
			[]*mp11.Attribute{
				mp11.NewAttribute(mp11.CKA_TOKEN, true), mp11.NewAttribute(mp11.CKA_VERIFY, true),
				mp11.NewAttribute(mp11.CKA_EC_PARAMS, params),
				mp11.NewAttribute(mp11.CKA_ID, u.ID), mp11.NewAttribute(mp11.CKA_LABEL, u.Object),
			},
			[]*mp11.Attribute{
				mp11.NewAttribute(mp11.CKA_TOKEN, true), mp11.NewAttribute(mp11.CKA_SIGN, true),
				mp11.NewAttribute(mp11.CKA_PRIVATE, true),
				mp11.NewAttribute(mp11.CKA_SENSITIVE, false), mp11.NewAttribute(mp11.CKA_EXTRACTABLE, true),
				mp11.NewAttribute(mp11.CKA_ID, u.ID), mp11.NewAttribute(mp11.CKA_LABEL, u.Object),
			})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.DeleteKey(ctx, u.String())
	info, err := r.Inspect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	if info.StaysInToken() || !info.Extractable || info.Sensitive || info.SecretReadErr != nil {
		t.Fatalf("an extractable key is reported as %s", info)
	}
	if !strings.Contains(info.String(), "CKA_EXTRACTABLE=true") || !strings.Contains(info.String(), "READABLE") {
		t.Fatalf("String = %s", info)
	}
	if wrapped, err := wrapKey(t, tok, u); err != nil || len(wrapped) == 0 {
		t.Fatalf("wrapping an extractable key: %d bytes, %v", len(wrapped), err)
	}
}

// TestResolverErrors: each mistake gives an error saying what is wrong,
// never showing the PIN, and a failed open does not break the tokens
// already open.
func TestResolverErrors(t *testing.T) {
	tok := hsmtest.SoftHSM(t)
	ctx := context.Background()

	t.Run("wrong PIN", func(t *testing.T) {
		r := &Resolver{PIN: func(string, string) (string, error) { return "wrong-PIN-0000", nil }}
		defer r.Close()
		_, _, err := r.GenerateKey(ctx, KeyRequest{Module: tok.Module, Token: tok.Label, Label: "never"})
		if err == nil || !strings.Contains(err.Error(), "the PIN is wrong") || strings.Contains(err.Error(), "wrong-PIN-0000") {
			t.Fatalf("wrong PIN: %v", err)
		}
	})
	t.Run("missing module", func(t *testing.T) {
		r := &Resolver{PIN: tok.PINFunc()}
		_, err := r.Signer(ctx, "pkcs11:token=x;object=k?module-path=/nonexistent/libnothing.so")
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/libnothing.so cannot be loaded") {
			t.Fatalf("missing module: %v", err)
		}
	})
	t.Run("no PIN source", func(t *testing.T) {
		r := &Resolver{}
		_, err := r.Signer(ctx, (&URI{Module: tok.Module, Token: tok.Label, Object: "k"}).String())
		if err == nil || !strings.Contains(err.Error(), "Resolver.PIN is not set") {
			t.Fatalf("no PIN: %v", err)
		}
	})

	// PINs carried by the URI, tried while no other Resolver is logged in
	// (PKCS#11 login is per process and token, so a second login would
	// not check the PIN). The key does not exist: getting as far as
	// looking for it proves the login worked.
	absent := (&URI{Module: tok.Module, Token: tok.Label, Object: "absent"}).String()
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte(tok.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, query, want string }{
		{"pin-value", "&pin-value=" + tok.PIN, "no private key"},
		{"pin-source", "&pin-source=" + pinFile, "no private key"},
		{"wrong pin-value", "&pin-value=wrong-PIN-1111", "the PIN is wrong"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &Resolver{PIN: func(string, string) (string, error) { return "", errors.New("PIN func called") }}
			defer r.Close()
			_, err := r.Signer(ctx, absent+tt.query)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "PIN-1111") || strings.Contains(err.Error(), tok.PIN) {
				t.Fatalf("Signer: %v; want %q", err, tt.want)
			}
		})
	}

	r := &Resolver{PIN: tok.PINFunc()}
	defer r.Close()
	signer, u, err := r.GenerateKey(ctx, KeyRequest{Module: tok.Module, Token: tok.Label, Label: "errors-key"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("same id and label again", func(t *testing.T) {
		_, _, err := r.GenerateKey(ctx, KeyRequest{Module: tok.Module, Token: tok.Label, Label: "errors-key", ID: u.ID})
		if err == nil || !strings.Contains(err.Error(), "already holds a key") {
			t.Fatalf("duplicate key: %v", err)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		_, err := r.Signer(ctx, (&URI{Module: tok.Module, Token: tok.Label, ID: []byte{9, 9, 9}}).String())
		if err == nil || !strings.Contains(err.Error(), "no private key id 090909") {
			t.Fatalf("unknown key: %v", err)
		}
	})
	t.Run("unknown token beside an open one", func(t *testing.T) {
		_, err := r.Signer(ctx, (&URI{Module: tok.Module, Token: "no-such-token", Object: "k"}).String())
		if err == nil || !strings.Contains(err.Error(), `no token labelled "no-such-token"`) || !strings.Contains(err.Error(), tok.Label) {
			t.Fatalf("unknown token: %v", err)
		}
		// The open token still signs.
		d := sha256.Sum256([]byte("still open"))
		if _, err := signer.Sign(nil, d[:], crypto.SHA256); err != nil {
			t.Fatalf("the open token broke: %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		r3 := &Resolver{PIN: tok.PINFunc()}
		r3.Close()
		if _, err := r3.Signer(ctx, u.String()); err == nil || !strings.Contains(err.Error(), "closed") {
			t.Fatalf("closed resolver: %v", err)
		}
	})
	if err := r.DeleteKey(ctx, u.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Signer(ctx, u.String()); err == nil {
		t.Fatal("the deleted key is still found")
	}
}

// wrapKey asks the token to export u's private key, wrapped (encrypted)
// under a fresh session AES key, which is what C_WrapKey does for a key
// backup: an extractable key comes out, a non-extractable one must not.
func wrapKey(t *testing.T, tok *hsmtest.Token, u *URI) ([]byte, error) {
	t.Helper()
	var out []byte
	var wrapErr error
	err := withModule(tok.Module, func(p *mp11.Ctx) error {
		slot, err := findSlot(p, tok.Module, tok.Label)
		if err != nil {
			return err
		}
		sh, err := p.OpenSession(slot, mp11.CKF_SERIAL_SESSION|mp11.CKF_RW_SESSION)
		if err != nil {
			return err
		}
		defer p.CloseSession(sh)
		aes, err := p.GenerateKey(sh, []*mp11.Mechanism{mp11.NewMechanism(mp11.CKM_AES_KEY_GEN, nil)}, []*mp11.Attribute{
			mp11.NewAttribute(mp11.CKA_TOKEN, false), mp11.NewAttribute(mp11.CKA_WRAP, true),
			mp11.NewAttribute(mp11.CKA_VALUE_LEN, 32),
		})
		if err != nil {
			return err
		}
		defer p.DestroyObject(sh, aes)
		if err := p.FindObjectsInit(sh, []*mp11.Attribute{
			mp11.NewAttribute(mp11.CKA_CLASS, mp11.CKO_PRIVATE_KEY), mp11.NewAttribute(mp11.CKA_ID, u.ID),
		}); err != nil {
			return err
		}
		objs, _, err := p.FindObjects(sh, 1)
		_ = p.FindObjectsFinal(sh)
		if err != nil || len(objs) != 1 {
			return errors.Join(err, errors.New("private key not found"))
		}
		out, wrapErr = p.WrapKey(sh, []*mp11.Mechanism{mp11.NewMechanism(mp11.CKM_AES_KEY_WRAP_PAD, nil)}, aes, objs[0])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, wrapErr
}

// asn1P256 is the DER of the P-256 curve OID, CKA_EC_PARAMS.
func asn1P256() ([]byte, error) {
	return []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, nil
}

// assertNoSecrets fails when any file under dir holds the PIN or a private
// key PEM block.
func assertNoSecrets(t *testing.T, dir, pin string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), pin) {
			t.Errorf("%s holds the PIN", p)
		}
		for rest := data; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if strings.Contains(b.Type, "PRIVATE KEY") {
				t.Errorf("%s holds a %s", p, b.Type)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tlsHandshake serves b on 127.0.0.1 and connects as a client trusting
// root, at the pinned test time, with TLS 1.2 and TLS 1.3 (RSA keys sign
// PKCS #1 v1.5 in the first, PSS in the second).
func tlsHandshake(t *testing.T, b *bundle.Bundle, root *x509.Certificate, host string) {
	t.Helper()
	cert, err := b.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return testpki.Now }
	pool := x509.NewCertPool()
	pool.AddCert(root)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srvErr := make(chan error, 1)
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				srvErr <- err
				return
			}
			defer conn.Close()
			srvErr <- tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{cert}, Time: now, MinVersion: v, MaxVersion: v}).Handshake()
		}()
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: host, Time: now, MinVersion: v, MaxVersion: v})
		if err != nil {
			ln.Close()
			t.Fatalf("TLS %x handshake with the token key: %v", v, err)
		}
		if got := conn.ConnectionState().Version; got != v {
			t.Errorf("negotiated TLS %x, want %x", got, v)
		}
		conn.Close()
		ln.Close()
		if err := <-srvErr; err != nil {
			t.Fatalf("server side of the TLS %x handshake: %v", v, err)
		}
	}
}
