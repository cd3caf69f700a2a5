package pkcs12

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"os"
	"path/filepath"
	"testing"

	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

// TestKeytool decodes PKCS#12 key stores and trust stores written by Java's
// keytool: two key pairs in one store (two keys, two certificates, paired
// by public key and by friendly name = alias), and a trust store of
// certificates only, each marked with Java's trusted-certificate attribute.
func TestKeytool(t *testing.T) {
	keytool := testtool.Require(t, "keytool")
	dir := t.TempDir()
	store := filepath.Join(dir, "keys.p12")
	const pass = "changeit-42" // Java refuses non-ASCII PBE passwords
	run(t, dir, keytool, "-genkeypair", "-alias", "rsa-entry", "-keyalg", "RSA", "-keysize", "2048",
		"-dname", "CN=keytool rsa", "-validity", "30", "-storetype", "pkcs12", "-keystore", store,
		"-storepass", pass, "-keypass", pass)
	run(t, dir, keytool, "-genkeypair", "-alias", "ec-entry", "-keyalg", "EC", "-groupname", "secp384r1",
		"-dname", "CN=keytool ec", "-validity", "30", "-storetype", "pkcs12", "-keystore", store,
		"-storepass", pass, "-keypass", pass)
	data, err := os.ReadFile(store)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(data, pass, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Keys) != 2 || len(c.Certs) != 2 {
		t.Fatalf("%d keys, %d certs; want 2, 2", len(c.Keys), len(c.Certs))
	}
	types := map[string]bool{}
	for _, k := range c.Keys {
		ce := certFor(c, k.Key)
		if ce == nil {
			t.Fatalf("key %q has no certificate", k.FriendlyName)
		}
		if ce.FriendlyName != k.FriendlyName || string(ce.LocalKeyID) != string(k.LocalKeyID) || ce.Trusted {
			t.Errorf("key %q / cert %q (trusted %v): attributes do not pair", k.FriendlyName, ce.FriendlyName, ce.Trusted)
		}
		switch key := k.Key.(type) {
		case *rsa.PrivateKey:
			types["rsa"] = k.FriendlyName == "rsa-entry" && ce.Cert.Subject.CommonName == "keytool rsa"
		case *ecdsa.PrivateKey:
			types["ec"] = k.FriendlyName == "ec-entry" && key.Curve == elliptic.P384()
		}
	}
	if !types["rsa"] || !types["ec"] {
		t.Errorf("keys by type and alias: %v", types)
	}
	t.Logf("keytool key store: MAC %s, encryption %q, %d iterations", c.MACAlgorithm, c.Encryption, c.Iterations)

	// Java's legacy PKCS#12 profile (JDK 8 defaults): 3DES keys, RC2-40
	// certificates, SHA-1 MAC with 100,000 iterations.
	legacy := filepath.Join(dir, "legacy.p12")
	run(t, dir, keytool, "-J-Dkeystore.pkcs12.legacy", "-genkeypair", "-alias", "legacy", "-keyalg", "RSA", "-keysize", "2048",
		"-dname", "CN=keytool legacy", "-validity", "30", "-storetype", "pkcs12", "-keystore", legacy,
		"-storepass", pass, "-keypass", pass)
	data, err = os.ReadFile(legacy)
	if err != nil {
		t.Fatal(err)
	}
	c, err = Decode(data, pass, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Keys) != 1 || len(c.Certs) != 1 || certFor(c, c.Keys[0].Key) == nil || c.MACAlgorithm != "HMAC-SHA1" || c.Iterations != 100000 {
		t.Errorf("legacy store: %d keys, %d certs, MAC %s, %d iterations, encryption %q", len(c.Keys), len(c.Certs), c.MACAlgorithm, c.Iterations, c.Encryption)
	}

	// Trust store: -importcert of two CA certificates, no keys.
	trust := filepath.Join(dir, "trust.p12")
	for _, name := range []string{"Keytool Root A", "Keytool Root B"} {
		root := testpki.Root(t, name)
		pemFile := filepath.Join(dir, name+".pem")
		writePEM(t, pemFile, "CERTIFICATE", root.Cert.Raw)
		run(t, dir, keytool, "-importcert", "-noprompt", "-alias", name, "-file", pemFile,
			"-storetype", "pkcs12", "-keystore", trust, "-storepass", "trustpass")
	}
	data, err = os.ReadFile(trust)
	if err != nil {
		t.Fatal(err)
	}
	c, err = Decode(data, "trustpass", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Keys) != 0 || len(c.Certs) != 2 {
		t.Fatalf("trust store: %d keys, %d certs; want 0, 2", len(c.Keys), len(c.Certs))
	}
	for _, ce := range c.Certs {
		if !ce.Trusted || ce.FriendlyName != ce.Cert.Subject.CommonName && ce.FriendlyName != lower(ce.Cert.Subject.CommonName) {
			t.Errorf("trust store entry %q (cert %q): trusted %v", ce.FriendlyName, ce.Cert.Subject.CommonName, ce.Trusted)
		}
	}
	t.Logf("keytool trust store: MAC %s, encryption %q", c.MACAlgorithm, c.Encryption)
}

// lower lower-cases ASCII: keytool stores aliases in lower case.
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
