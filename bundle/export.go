package bundle

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// ExportOptions tunes Export. The zero value is not usable on its own:
// Password is required.
type ExportOptions struct {
	// Password protects the .pfx; required.
	Password string
	// Legacy selects the 3DES/SHA-1 profile that Windows Server 2016 and
	// older and Java 8 before 8u301 import; false means AES-256/PBKDF2.
	Legacy bool
	// FriendlyName names the key entry; empty means the leaf's host name.
	FriendlyName string
	// ExcludeRoot leaves the root out. By default it is included when the
	// bundle has one, so that the importing machine gets the whole chain
	// (a .pfx is imported, never sent to clients).
	ExcludeRoot bool
	// AllowKeyOverwrite replaces an existing file at the path.
	AllowKeyOverwrite bool
	// Rand is the source of salts and IVs; nil means crypto/rand.
	Rand io.Reader
}

// Export writes the bundle as one PKCS#12 file at path, with the key, the
// leaf, the intermediates and (unless ExcludeRoot) the root: what a second
// server of a farm, or a new server replacing an old one, imports. The file
// is written atomically with mode 0600, never over an existing file unless
// AllowKeyOverwrite, and read back and checked before Export returns.
func (b *Bundle) Export(path string, opts *ExportOptions) error {
	if opts == nil {
		opts = &ExportOptions{}
	}
	if err := b.Check(); err != nil {
		return err
	}
	if opts.Password == "" {
		return fmt.Errorf("bundle: %w for the exported .pfx (ExportOptions.Password)", ErrPasswordRequired)
	}
	name := filepath.Base(path)
	if name == "." || name == string(filepath.Separator) || strings.HasSuffix(path, string(filepath.Separator)) {
		return fmt.Errorf("bundle: export path %q names a folder, not a file", path)
	}
	full := b.Chain(!opts.ExcludeRoot)
	friendly := opts.FriendlyName
	if friendly == "" {
		friendly = defaultName(b.Leaf)
	}
	profile := profileModern
	if opts.Legacy {
		profile = profileLegacy
	}
	data, err := encodePFX(b, full, opts.Password, friendly, profile, opts.Rand)
	if err != nil {
		return err
	}
	out := output{name: name, data: data, secret: true, verify: b.verifyPFX(full, opts.Password, friendly)}
	_, err = writeAll(filepath.Dir(path), []output{out}, false, opts.AllowKeyOverwrite)
	return err
}
