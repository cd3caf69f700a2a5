//go:build linux

package chain

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/atomicfile"
)

// Distribution defaults of SystemStore.
const (
	debianTool        = "update-ca-certificates"
	debianLocalDir    = "/usr/local/share/ca-certificates"
	debianCertsDir    = "/usr/share/ca-certificates"
	debianCertsConf   = "/etc/ca-certificates.conf"
	debianEtcCertsDir = "/etc/ssl/certs"
	debianHooksDir    = "/etc/ca-certificates/update.d"
	debianBundleName  = "ca-certificates.crt"
	redhatTool        = "update-ca-trust"
	redhatAnchorDir   = "/etc/pki/ca-trust/source/anchors"
	redhatBundle      = "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"
	systemHint        = "install the distribution's CA tool: Debian/Ubuntu package ca-certificates, RHEL/Fedora ca-certificates (update-ca-trust)"
)

// systemConfig is a SystemStore with every default filled in.
type systemConfig struct {
	flavor    SystemFlavor
	command   string
	args      []string // before --fresh
	anchorDir string
	bundle    string
}

// findSystemTool looks for name in PATH, then in /usr/sbin and /sbin, which
// are often missing from an ordinary user's PATH.
func findSystemTool(name string) (string, bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

func (s *SystemStore) config() (*systemConfig, error) {
	flavor := s.Flavor
	if flavor == "" {
		switch {
		case s.Command != "" && filepath.Base(s.Command) == redhatTool:
			flavor = FlavorRedHat
		case s.Command != "":
			flavor = FlavorDebian
		default:
			if _, ok := findSystemTool(debianTool); ok {
				flavor = FlavorDebian
			} else if _, ok := findSystemTool(redhatTool); ok {
				flavor = FlavorRedHat
			} else {
				return nil, fmt.Errorf("chain: system store: neither %s (Debian, Ubuntu) nor %s (RHEL, Fedora) found in PATH, /usr/sbin or /sbin (%s): %w",
					debianTool, redhatTool, systemHint, ErrUnsupported)
			}
		}
	}
	root := s.Root
	if root == "" {
		root = "/"
	}
	pick := func(v, def string) string {
		if v != "" {
			return v
		}
		return filepath.Join(root, def)
	}
	c := &systemConfig{flavor: flavor, command: s.Command}
	switch flavor {
	case FlavorDebian:
		if c.command == "" {
			c.command = debianTool
			if p, ok := findSystemTool(debianTool); ok {
				c.command = p
			}
		}
		c.anchorDir = pick(s.AnchorDir, debianLocalDir)
		etc := pick(s.EtcCertsDir, debianEtcCertsDir)
		c.bundle = s.BundleFile
		if c.bundle == "" {
			c.bundle = filepath.Join(etc, debianBundleName)
		}
		for _, f := range []struct{ flag, val, def string }{
			{"--certsdir", pick(s.CertsDir, debianCertsDir), debianCertsDir},
			{"--localcertsdir", c.anchorDir, debianLocalDir},
			{"--etccertsdir", etc, debianEtcCertsDir},
			{"--certsconf", pick(s.CertsConf, debianCertsConf), debianCertsConf},
			{"--hooksdir", pick(s.HooksDir, debianHooksDir), debianHooksDir},
		} {
			if f.val != f.def {
				c.args = append(c.args, f.flag, f.val)
			}
		}
	case FlavorRedHat:
		c.anchorDir = pick(s.AnchorDir, redhatAnchorDir)
		c.bundle = pick(s.BundleFile, redhatBundle)
		if c.command == "" {
			if c.anchorDir != redhatAnchorDir || c.bundle != redhatBundle {
				return nil, fmt.Errorf("chain: system store: %s reads only %s and writes only %s; other paths (%s, %s) need a Command that honours them: %w",
					redhatTool, redhatAnchorDir, redhatBundle, c.anchorDir, c.bundle, ErrUnsupported)
			}
			c.command = redhatTool
			if p, ok := findSystemTool(redhatTool); ok {
				c.command = p
			}
		}
		c.args = []string{"extract"}
	default:
		return nil, fmt.Errorf("chain: system store: unknown flavor %q (want %q or %q)", flavor, FlavorDebian, FlavorRedHat)
	}
	return c, nil
}

// String returns "system (FLAVOR) DIR", or "system" when the flavor cannot
// be detected.
func (s *SystemStore) String() string {
	c, err := s.config()
	if err != nil {
		return "system"
	}
	return fmt.Sprintf("system (%s) %s", c.flavor, c.anchorDir)
}

func (c *systemConfig) update(fresh bool) Command {
	args := append([]string(nil), c.args...)
	if fresh && c.flavor == FlavorDebian {
		// Without --fresh, update-ca-certificates keeps the symbolic link
		// of a removed local certificate in /etc/ssl/certs.
		args = append(args, "--fresh")
	}
	return Command{Path: c.command, Args: args}
}

// Plan lists the file written or removed and the command Install or Remove
// would run, without doing anything.
func (s *SystemStore) Plan(action Action, cert *x509.Certificate, name string) ([]string, error) {
	c, err := s.config()
	if err != nil {
		return nil, err
	}
	switch action {
	case ActionInstall:
		if err := CheckAnchor(cert); err != nil {
			return nil, err
		}
		if err := CheckName(name); err != nil {
			return nil, err
		}
		return []string{
			fmt.Sprintf("write %s (PEM, mode 0644)", filepath.Join(c.anchorDir, name+".crt")),
			c.update(false).String(),
		}, nil
	case ActionRemove:
		step := ""
		if cert != nil {
			step = fmt.Sprintf("remove each file under %s holding SHA-256 %s", c.anchorDir, fingerprint(cert))
		} else if err := CheckName(name); err != nil {
			return nil, err
		} else {
			step = "remove " + filepath.Join(c.anchorDir, name+".crt")
		}
		return []string{step, c.update(true).String()}, nil
	}
	return nil, fmt.Errorf("chain: unknown action %q", action)
}

// readAnchorFile returns the certificates of a PEM or DER file of at most
// maxAnchorFile bytes.
func readAnchorFile(name string) ([]*x509.Certificate, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAnchorFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxAnchorFile {
		return nil, fmt.Errorf("chain: %s is larger than %d bytes", name, maxAnchorFile)
	}
	if cs := pemCertificates(data); len(cs) > 0 {
		return cs, nil
	}
	if c, err := x509.ParseCertificate(data); err == nil {
		return []*x509.Certificate{c}, nil
	}
	return nil, nil
}

// Install writes cert in PEM to AnchorDir/NAME.crt (mode 0644, atomically)
// and runs the update tool, then checks that the bundle holds cert. When
// the tool fails, a file Install created is removed again. A NAME.crt
// holding another certificate fails with ErrNameInUse.
func (s *SystemStore) Install(ctx context.Context, cert *x509.Certificate, name string) error {
	if err := CheckAnchor(cert); err != nil {
		return err
	}
	if err := CheckName(name); err != nil {
		return err
	}
	c, err := s.config()
	if err != nil {
		return err
	}
	file := filepath.Join(c.anchorDir, name+".crt")
	created := false
	switch cs, err := readAnchorFile(file); {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(c.anchorDir, 0o755); err != nil {
			return fmt.Errorf("chain: system store: %w%s", err, rootHint(err))
		}
		if err := atomicfile.WriteFile(file, formats.EncodeCertificatesPEM(cert), 0o644, atomicfile.Options{NoOverwrite: true}); err != nil {
			return fmt.Errorf("chain: system store: writing the anchor: %w%s", err, rootHint(err))
		}
		created = true
	case err != nil:
		return fmt.Errorf("chain: system store: %w", err)
	case len(cs) != 1 || !holds(cs, cert):
		return fmt.Errorf("chain: system store: %s holds %s, not %s: %w (remove it first or choose another name)",
			file, describeCerts(cs), describeAnchor(cert), ErrNameInUse)
	}
	if _, err := runTool(ctx, c.update(false), systemHint); err != nil {
		if created {
			if rerr := os.Remove(file); rerr == nil {
				return fmt.Errorf("%w; %s was removed again", err, file)
			}
		}
		return err
	}
	ok, err := bundleHolds(c.bundle, cert)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("chain: system store: %s ran but %s does not hold %s; %s is in place", c.update(false), c.bundle, describeAnchor(cert), file)
	}
	return nil
}

func rootHint(err error) string {
	if errors.Is(err, fs.ErrPermission) {
		return " (changing the system store needs root: run as root or with sudo)"
	}
	return ""
}

func bundleHolds(bundle string, cert *x509.Certificate) (bool, error) {
	cs, err := readAnchorFile(bundle)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("chain: system store: reading the bundle: %w", err)
	}
	return holds(cs, cert), nil
}

// anchorFiles returns the files under dir (recursively, as the tools read
// it) that hold cert, with the number of certificates in each.
func anchorFiles(dir string, flavor SystemFlavor, cert *x509.Certificate) (map[string]int, error) {
	found := map[string]int{}
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if strings.HasPrefix(d.Name(), atomicfile.TempPrefix) {
			return nil
		}
		if flavor == FlavorDebian && !strings.HasSuffix(d.Name(), ".crt") {
			return nil // update-ca-certificates reads only *.crt
		}
		if n++; n > maxEntries {
			return fmt.Errorf("more than %d files", maxEntries)
		}
		cs, err := readAnchorFile(p)
		if err != nil {
			return nil // not ours to judge: the tool skips unreadable files too
		}
		if holds(cs, cert) {
			found[p] = len(cs)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("chain: system store: looking for the certificate under %s: %w", dir, err)
	}
	return found, nil
}

// Remove deletes the files under AnchorDir that hold cert (or, when cert
// is nil, AnchorDir/NAME.crt) and runs the update tool (Debian: with
// --fresh). A file holding other certificates besides cert is not deleted:
// Remove fails naming it. When cert is in the bundle but not in AnchorDir,
// or still in the bundle afterwards (it comes from the distribution's own
// list), Remove fails saying so, without ErrNotInStore.
func (s *SystemStore) Remove(ctx context.Context, cert *x509.Certificate, name string) error {
	c, err := s.config()
	if err != nil {
		return err
	}
	var files []string
	if cert != nil {
		found, err := anchorFiles(c.anchorDir, c.flavor, cert)
		if err != nil {
			return err
		}
		for f, n := range found {
			if n > 1 {
				return fmt.Errorf("chain: system store: %s holds %d certificates, %s among them; remove that one by hand", f, n, describeAnchor(cert))
			}
			files = append(files, f)
		}
		if len(files) == 0 {
			in, err := bundleHolds(c.bundle, cert)
			if err == nil && in {
				// Not ErrNotInStore: the certificate is still trusted.
				return fmt.Errorf("chain: system store: no file under %s holds %s, but %s does: it comes from the distribution's list (Debian: mark it with '!' in %s; Red Hat: copy it to /etc/pki/ca-trust/source/blocklist)",
					c.anchorDir, describeAnchor(cert), c.bundle, debianCertsConf)
			}
			return fmt.Errorf("chain: system store: no file under %s holds %s: %w", c.anchorDir, describeAnchor(cert), ErrNotInStore)
		}
	} else {
		if err := CheckName(name); err != nil {
			return err
		}
		f := filepath.Join(c.anchorDir, name+".crt")
		if _, err := os.Lstat(f); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("chain: system store: %s does not exist: %w", f, ErrNotInStore)
		}
		files = append(files, f)
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("chain: system store: %w%s", err, rootHint(err))
		}
		if err := atomicfile.SyncDir(filepath.Dir(f)); err != nil {
			return fmt.Errorf("chain: system store: %w", err)
		}
	}
	if _, err := runTool(ctx, c.update(true), systemHint); err != nil {
		return fmt.Errorf("%w; %s already removed", err, strings.Join(files, ", "))
	}
	if cert != nil {
		in, err := bundleHolds(c.bundle, cert)
		if err != nil {
			return err
		}
		if in {
			return fmt.Errorf("chain: system store: %s removed, but %s still holds %s (it also comes from the distribution's list)", strings.Join(files, ", "), c.bundle, describeAnchor(cert))
		}
	}
	return nil
}

// Contains reports whether the bundle the update tool writes holds cert.
func (s *SystemStore) Contains(ctx context.Context, cert *x509.Certificate) (bool, error) {
	c, err := s.config()
	if err != nil {
		return false, err
	}
	return bundleHolds(c.bundle, cert)
}
