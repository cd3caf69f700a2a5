package bundle

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/certwright/certwright/internal/atomicfile"
)

// ErrExists reports an output file that is already there and that Write
// was not allowed to replace. The existing file is left untouched.
var ErrExists = errors.New("file already exists")

// ErrPasswordRequired reports a password-protected output (IIS, Java)
// requested without WriteOptions.Password.
var ErrPasswordRequired = errors.New("a password is required")

// ErrKeyNotExportable reports a key that cannot be written to a file (for
// example a key held by a hardware token or a KMS).
var ErrKeyNotExportable = errors.New("the private key cannot be exported")

// WriteOptions tunes Write. The zero value writes nothing over an existing
// file, leaves the root out, and derives names from the leaf.
type WriteOptions struct {
	// Name is the base name of single-file outputs (NAME.pem, NAME.pfx,
	// NAME.p12, NAME.jks, NAME.yaml, NAME.crt/NAME.key). It must be a plain
	// file name. Empty means the leaf's first DNS name (or its common name),
	// with "*" spelled "wildcard", or "certificate" when it has neither.
	Name string
	// IncludeRoot appends the root to every chain written (fullchain.pem,
	// chain.pem, HAProxy's file, the .pfx and keystores, NAME.crt); for
	// Kubernetes it adds ca.crt with the root alone instead. Servers should
	// not send their root, so leave it false unless a consumer asks for it.
	// Write fails when IncludeRoot is set and the bundle has no Root.
	IncludeRoot bool
	// Password protects the .pfx, .p12 and .jks outputs. Required for
	// those servers: there is no default, because a key container with a
	// known password is a key in the clear. Ignored by the others.
	Password string
	// FriendlyName is the friendly name of the .pfx entry (shown in the
	// Windows certificate store and IIS bindings) and the alias of the
	// Java keystore entry. Empty means the same as the default Name.
	FriendlyName string
	// SecretName and Namespace are the Kubernetes Secret's metadata. An
	// empty SecretName means Name lower-cased with "-tls" appended; an
	// empty Namespace is left out of the manifest (kubectl's current one).
	SecretName, Namespace string
	// Overwrite replaces existing certificate-only files (fullchain.pem,
	// cert.pem, chain.pem, NAME.crt). Files holding a private key are still
	// protected.
	Overwrite bool
	// AllowKeyOverwrite also replaces files that hold a private key
	// (privkey.pem, NAME.key, NAME.pem for HAProxy, .pfx, .p12, .jks,
	// the Secret manifest). It implies Overwrite. Only set it when the key
	// being replaced is backed up or no longer wanted.
	AllowKeyOverwrite bool
	// Rand is the source of salts and IVs for the encrypted containers;
	// nil means crypto/rand.
	Rand io.Reader
}

// output is one file a writer lays out.
type output struct {
	name   string // base name inside the folder
	data   []byte
	secret bool                    // holds a private key: 0600 and overwrite protection
	verify func(data []byte) error // reads the written bytes back
}

// Write writes the files server wants into dir (created 0700 when missing)
// and returns their paths in the order written. Every file is written
// atomically (temporary file, fsync, rename, fsync of the folder); files
// holding a key are 0600, the others 0644. Before anything is written the
// bundle is checked (Check) and every target name is checked against
// opts' overwrite rules, so a refused overwrite writes nothing. After
// writing, each file is read back from disk and checked: the key matches
// the leaf, the certificates are exactly the chain in order, the root is
// absent unless asked. A failure returns the paths written so far and an
// error naming the file.
//
// Write does not configure or reload the server, and does not check the
// certificate's dates or host names.
func (b *Bundle) Write(dir string, server Server, opts *WriteOptions) ([]string, error) {
	if opts == nil {
		opts = &WriteOptions{}
	}
	if err := b.Check(); err != nil {
		return nil, err
	}
	if opts.IncludeRoot && b.Root == nil {
		return nil, errors.New("bundle: IncludeRoot is set but the bundle has no root certificate; build the chain with the root known (chain.Build with roots) or leave IncludeRoot off")
	}
	if server.needsPassword() && opts.Password == "" {
		return nil, fmt.Errorf("bundle: %w for the %s output (WriteOptions.Password); a key container with an empty password protects nothing", ErrPasswordRequired, server)
	}
	name, err := baseName(b, opts)
	if err != nil {
		return nil, err
	}
	outs, err := b.layout(server, name, opts)
	if err != nil {
		return nil, err
	}

	return writeAll(dir, outs, opts.Overwrite, opts.AllowKeyOverwrite)
}

// writeAll checks every target against the overwrite rules, then writes
// the outputs atomically and reads each back.
func writeAll(dir string, outs []output, overwrite, allowKey bool) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bundle: creating the output folder: %w", err)
	}
	replace := func(o output) bool {
		if o.secret {
			return allowKey
		}
		return overwrite || allowKey
	}
	for _, o := range outs {
		p := filepath.Join(dir, o.name)
		if _, err := os.Lstat(p); err == nil && !replace(o) {
			return nil, existsError(p, o.secret)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("bundle: %w", err)
		}
	}

	var written []string
	for _, o := range outs {
		p := filepath.Join(dir, o.name)
		perm := fs.FileMode(0o644)
		if o.secret {
			perm = 0o600
		}
		if err := atomicfile.WriteFile(p, o.data, perm, atomicfile.Options{NoOverwrite: !replace(o)}); err != nil {
			if errors.Is(err, atomicfile.ErrExists) {
				return written, existsError(p, o.secret)
			}
			return written, fmt.Errorf("bundle: writing %s: %w", p, err)
		}
		written = append(written, p)
	}
	for _, o := range outs {
		p := filepath.Join(dir, o.name)
		data, err := os.ReadFile(p)
		if err != nil {
			return written, fmt.Errorf("bundle: reading back %s: %w", p, err)
		}
		if err := o.verify(data); err != nil {
			return written, fmt.Errorf("bundle: %s was written but does not read back correctly: %w", p, err)
		}
	}
	return written, nil
}

func existsError(p string, secret bool) error {
	if secret {
		return fmt.Errorf("bundle: %s: %w and holds a private key; it is kept (set WriteOptions.AllowKeyOverwrite once that key is backed up, or write to another folder)", p, ErrExists)
	}
	return fmt.Errorf("bundle: %s: %w; it is kept (set WriteOptions.Overwrite to replace certificate files, or write to another folder)", p, ErrExists)
}

// layout builds the files for server.
func (b *Bundle) layout(server Server, name string, opts *WriteOptions) ([]output, error) {
	full := b.Chain(opts.IncludeRoot)
	var chainOnly []*x509.Certificate
	chainOnly = append(chainOnly, full[1:]...)
	friendly := opts.FriendlyName
	if friendly == "" {
		friendly = defaultName(b.Leaf)
	}
	switch server {
	case Nginx:
		key, err := encodeKeyPEM(b)
		if err != nil {
			return nil, err
		}
		return []output{
			{name: "fullchain.pem", data: encodeCertsPEM(full), verify: b.verifyPEM(full, false)},
			{name: "privkey.pem", data: key, secret: true, verify: b.verifyPEM(nil, true)},
		}, nil
	case Apache:
		key, err := encodeKeyPEM(b)
		if err != nil {
			return nil, err
		}
		outs := []output{
			{name: "cert.pem", data: encodeCertsPEM(full[:1]), verify: b.verifyPEM(full[:1], false)},
			{name: "chain.pem", data: encodeCertsPEM(chainOnly), verify: b.verifyPEMChainOnly(chainOnly)},
			{name: "fullchain.pem", data: encodeCertsPEM(full), verify: b.verifyPEM(full, false)},
			{name: "privkey.pem", data: key, secret: true, verify: b.verifyPEM(nil, true)},
		}
		return outs, nil
	case HAProxy:
		key, err := encodeKeyPEM(b)
		if err != nil {
			return nil, err
		}
		data := append(encodeCertsPEM(full), key...)
		return []output{{name: name + ".pem", data: data, secret: true, verify: b.verifyPEM(full, true)}}, nil
	case PEM:
		key, err := encodeKeyPEM(b)
		if err != nil {
			return nil, err
		}
		return []output{
			{name: name + ".crt", data: encodeCertsPEM(full), verify: b.verifyPEM(full, false)},
			{name: name + ".key", data: key, secret: true, verify: b.verifyPEM(nil, true)},
		}, nil
	case IIS, IISLegacy, Java:
		profile := profileModern
		ext := ".pfx"
		if server == IISLegacy {
			profile = profileLegacy
		}
		if server == Java {
			ext = ".p12"
		}
		data, err := encodePFX(b, full, opts.Password, friendly, profile, opts.Rand)
		if err != nil {
			return nil, err
		}
		return []output{{name: name + ext, data: data, secret: true, verify: b.verifyPFX(full, opts.Password, friendly)}}, nil
	case JavaJKS:
		data, err := encodeJKS(b, full, opts.Password, friendly, opts.Rand)
		if err != nil {
			return nil, err
		}
		return []output{{name: name + ".jks", data: data, secret: true, verify: b.verifyJKS(full, opts.Password, friendly)}}, nil
	case Kubernetes:
		secretName := opts.SecretName
		if secretName == "" {
			secretName = strings.ToLower(name) + "-tls"
		}
		if !dns1123.MatchString(secretName) || len(secretName) > 253 {
			return nil, fmt.Errorf("bundle: %q is not a valid Kubernetes Secret name (lower-case letters, digits, '-' and '.', starting and ending with a letter or digit); set WriteOptions.SecretName", secretName)
		}
		if opts.Namespace != "" && !dns1123Label.MatchString(opts.Namespace) {
			return nil, fmt.Errorf("bundle: %q is not a valid Kubernetes namespace", opts.Namespace)
		}
		key, err := encodeKeyPEM(b)
		if err != nil {
			return nil, err
		}
		var root []*x509.Certificate
		if opts.IncludeRoot {
			root = []*x509.Certificate{b.Root}
		}
		tlsCrt := b.Chain(false)
		data := encodeSecret(secretName, opts.Namespace, encodeCertsPEM(tlsCrt), key, encodeCertsPEM(root))
		return []output{{name: name + ".yaml", data: data, secret: true, verify: b.verifySecret(secretName, tlsCrt, root)}}, nil
	}
	_, err := ParseServer(string(server))
	return nil, err
}

var (
	dns1123      = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
)

// baseName returns opts.Name checked, or the default derived from the leaf.
func baseName(b *Bundle, opts *WriteOptions) (string, error) {
	if opts.Name == "" {
		return defaultName(b.Leaf), nil
	}
	n := opts.Name
	if n == "." || n == ".." || strings.ContainsAny(n, `/\`) || strings.ContainsRune(n, 0) || strings.HasPrefix(n, atomicfile.TempPrefix) {
		return "", fmt.Errorf("bundle: WriteOptions.Name %q must be a plain file name, not a path", n)
	}
	return n, nil
}

// defaultName is the leaf's first DNS name, else its common name, made safe
// as a file name.
func defaultName(leaf *x509.Certificate) string {
	n := leaf.Subject.CommonName
	if len(leaf.DNSNames) > 0 {
		n = leaf.DNSNames[0]
	}
	n = strings.ReplaceAll(n, "*", "wildcard")
	var sb strings.Builder
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			sb.WriteRune(r)
		default:
			sb.WriteByte('_')
		}
	}
	n = strings.Trim(sb.String(), ".")
	if n == "" {
		return "certificate"
	}
	return n
}

func encodeCertsPEM(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// encodeKeyPEM encodes the key as PKCS#8 "PRIVATE KEY", which nginx,
// Apache, HAProxy, Envoy, Caddy, Traefik and Go all read.
func encodeKeyPEM(b *Bundle) ([]byte, error) {
	der, err := pkcs8(b)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func pkcs8(b *Bundle) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(b.Key)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w (%T) for %s: %v; write a server configuration that refers to the key where it is kept instead", ErrKeyNotExportable, b.Key, describe(b.Leaf), err)
	}
	return der, nil
}

// encodeSecret renders a kubernetes.io/tls Secret manifest. The data
// values are base64 as the API requires; ca.crt is left out when caPEM is
// empty.
func encodeSecret(name, namespace string, crtPEM, keyPEM, caPEM []byte) []byte {
	var sb strings.Builder
	sb.WriteString("apiVersion: v1\nkind: Secret\nmetadata:\n")
	fmt.Fprintf(&sb, "  name: %s\n", name)
	if namespace != "" {
		fmt.Fprintf(&sb, "  namespace: %s\n", namespace)
	}
	sb.WriteString("type: kubernetes.io/tls\ndata:\n")
	if len(caPEM) > 0 {
		fmt.Fprintf(&sb, "  ca.crt: %s\n", base64.StdEncoding.EncodeToString(caPEM))
	}
	fmt.Fprintf(&sb, "  tls.crt: %s\n", base64.StdEncoding.EncodeToString(crtPEM))
	fmt.Fprintf(&sb, "  tls.key: %s\n", base64.StdEncoding.EncodeToString(keyPEM))
	return []byte(sb.String())
}
