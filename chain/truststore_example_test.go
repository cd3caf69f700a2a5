package chain_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/formats"
)

// trustRootForExample reads the root the examples distribute. Any CA
// certificate serves; this one is checked into testdata.
func trustRootForExample() *x509.Certificate {
	der, err := os.ReadFile("testdata/isrg-root-x1.der")
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return c
}

// Export a root for the clients that must trust it: PEM for Linux and
// OpenSSL, a DER .cer for Windows, and a PKCS#12 trust store for Java.
func ExampleExportRoot() {
	root := trustRootForExample()
	dir, err := os.MkdirTemp("", "export-root")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	out, err := chain.ExportRoot(dir, "", root, &chain.ExportOptions{Password: "changeit"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range []string{out.PEM, out.DER, out.TrustStore} {
		fi, _ := os.Stat(f)
		fmt.Println(filepath.Base(f), fi.Mode())
	}

	// What a Java client sees in the trust store.
	ts, err := formats.ReadFile(out.TrustStore, &formats.ReadOptions{Password: "changeit"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d certificate, %d keys, alias %q, trusted %v\n",
		len(ts.Certificates), len(ts.Keys), ts.CertInfo[0].FriendlyName, ts.CertInfo[0].Trusted)
	// Output:
	// ISRG-Root-X1-96bcec06.pem -rw-r--r--
	// ISRG-Root-X1-96bcec06.cer -rw-r--r--
	// ISRG-Root-X1-96bcec06-truststore.p12 -rw-r--r--
	// 1 certificate, 0 keys, alias "ISRG-Root-X1-96bcec06", trusted true
}

// A dry run: the commands that would add a root to a user's NSS database
// (Chrome on Linux) and to a Java trust store, without running them.
// Passwords go to keytool in the environment, never on the command line.
func ExamplePlanner() {
	root := trustRootForExample()
	name := chain.DefaultName(root)
	stores := []chain.Planner{
		&chain.NSSStore{Dir: "/home/alice/.pki/nssdb"},
		&chain.JavaStore{Keystore: "/opt/app/truststore.p12", StorePass: "secret", Keytool: "keytool"},
	}
	for _, s := range stores {
		steps, err := s.Plan(chain.ActionInstall, root, name)
		if err != nil {
			fmt.Println(err)
			continue
		}
		for _, step := range steps {
			fmt.Println(step)
		}
	}
	// Output:
	// certutil -d sql:/home/alice/.pki/nssdb -L
	// certutil -d sql:/home/alice/.pki/nssdb -A -t C,, -n ISRG-Root-X1-96bcec06 -a < ISRG-Root-X1-96bcec06.pem
	// CERTWRIGHT_KEYTOOL_STOREPASS=(hidden) keytool -J-Duser.language=en -J-Duser.country=US -list -rfc -keystore /opt/app/truststore.p12 -storepass:env CERTWRIGHT_KEYTOOL_STOREPASS
	// CERTWRIGHT_KEYTOOL_STOREPASS=(hidden) keytool -J-Duser.language=en -J-Duser.country=US -importcert -noprompt -trustcacerts -alias ISRG-Root-X1-96bcec06 -keystore /opt/app/truststore.p12 -storepass:env CERTWRIGHT_KEYTOOL_STOREPASS < ISRG-Root-X1-96bcec06.pem
}

// Install a private root into the machine's store (needs root), the
// user's NSS database and the JDK's cacerts, and report each store: one
// failing does not stop the others.
func ExampleInstallAll() {
	der, err := os.ReadFile("corp-root.cer")
	if err != nil {
		fmt.Println(err)
		return
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := chain.CheckAnchor(root); err != nil {
		fmt.Println(err)
		return
	}
	stores := []chain.TrustStore{&chain.SystemStore{}, &chain.NSSStore{}, &chain.JavaStore{}}
	for _, r := range chain.InstallAll(context.Background(), stores, root, chain.DefaultName(root)) {
		if r.Err != nil {
			fmt.Printf("%s: %s failed: %v\n", r.Store, r.Action, r.Err)
		} else {
			fmt.Printf("%s: %s done\n", r.Store, r.Action)
		}
	}
}
