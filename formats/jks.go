package formats

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
)

var (
	jksMagic   = []byte{0xfe, 0xed, 0xfe, 0xed}
	jceksMagic = []byte{0xce, 0xce, 0xce, 0xce}
)

// checkJKS walks the JKS layout and checks every declared length and count
// against the bytes actually present, because the JKS library allocates
// whatever a length field says (a 100-byte file could ask for 4 GiB). It
// returns the number of entries.
func checkJKS(b []byte, maxEntries int) (int, error) {
	pos := 0
	need := func(n uint64) error {
		if uint64(len(b)-pos) < n {
			return fmt.Errorf("JKS: truncated at byte %d (needs %d more bytes, %d left)", pos, n, len(b)-pos)
		}
		return nil
	}
	u16 := func() (uint64, error) {
		if err := need(2); err != nil {
			return 0, err
		}
		v := binary.BigEndian.Uint16(b[pos:])
		pos += 2
		return uint64(v), nil
	}
	u32 := func() (uint64, error) {
		if err := need(4); err != nil {
			return 0, err
		}
		v := binary.BigEndian.Uint32(b[pos:])
		pos += 4
		return uint64(v), nil
	}
	skip := func(n uint64) error {
		if err := need(n); err != nil {
			return err
		}
		pos += int(n)
		return nil
	}
	str := func() error {
		n, err := u16()
		if err != nil {
			return err
		}
		return skip(n)
	}
	if _, err := u32(); err != nil { // magic, checked by the caller
		return 0, err
	}
	version, err := u32()
	if err != nil {
		return 0, err
	}
	if version != 1 && version != 2 {
		return 0, fmt.Errorf("JKS: unknown version %d", version)
	}
	cert := func() error {
		if version == 2 {
			if err := str(); err != nil { // certificate type
				return err
			}
		}
		n, err := u32()
		if err != nil {
			return err
		}
		return skip(n)
	}
	count, err := u32()
	if err != nil {
		return 0, err
	}
	if count > uint64(maxEntries) {
		return 0, fmt.Errorf("%w: JKS declares %d entries, more than the %d allowed (ReadOptions.MaxCertificates)", ErrLimit, count, maxEntries)
	}
	for i := uint64(0); i < count; i++ {
		tag, err := u32()
		if err != nil {
			return 0, err
		}
		if err := str(); err != nil { // alias
			return 0, err
		}
		if err := skip(8); err != nil { // creation time
			return 0, err
		}
		switch tag {
		case 1: // private key entry
			n, err := u32()
			if err != nil {
				return 0, err
			}
			if err := skip(n); err != nil {
				return 0, err
			}
			certs, err := u32()
			if err != nil {
				return 0, err
			}
			// Each certificate takes at least 4 bytes: a count larger
			// than the bytes left is a lie.
			if certs > uint64(len(b)-pos)/4 || certs > uint64(maxEntries) {
				return 0, fmt.Errorf("JKS: entry %d declares %d certificates", i+1, certs)
			}
			for j := uint64(0); j < certs; j++ {
				if err := cert(); err != nil {
					return 0, err
				}
			}
		case 2: // trusted certificate entry
			if err := cert(); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("JKS: entry %d has unknown tag %d", i+1, tag)
		}
	}
	if err := skip(20); err != nil { // SHA-1 integrity digest
		return 0, err
	}
	return int(count), nil
}

// readJKS reads a Java KeyStore with the store password (Password) and
// opens private key entries with KeyPassword (default Password).
func (r *reader) readJKS(data []byte) error {
	if _, err := checkJKS(data, r.o.MaxCertificates); err != nil {
		return err
	}
	ks := keystore.New(keystore.WithOrderedAliases(), keystore.WithCaseExactAliases())
	if err := ks.Load(bytes.NewReader(data), []byte(r.o.Password)); err != nil {
		if strings.Contains(err.Error(), "invalid digest") {
			if r.o.Password == "" {
				return fmt.Errorf("%w: the store is protected and no password was given", ErrIncorrectPassword)
			}
			return fmt.Errorf("%w: the store password does not match the integrity digest", ErrIncorrectPassword)
		}
		return fmt.Errorf("JKS: %w", err)
	}
	r.note("JKS: integrity digest is SHA-1 over the password and contents; key entries use Sun's proprietary SHA-1 key protector (weak): migrate with keytool -importkeystore -deststoretype PKCS12")
	for _, alias := range ks.Aliases() {
		source := fmt.Sprintf("JKS entry %q", alias)
		switch {
		case ks.IsPrivateKeyEntry(alias):
			entry, err := ks.GetPrivateKeyEntry(alias, []byte(r.o.KeyPassword))
			if err != nil {
				if strings.Contains(err.Error(), "invalid digest") {
					return fmt.Errorf("%w: %s: the key password does not open the private key (ReadOptions.KeyPassword)", ErrIncorrectPassword, source)
				}
				return fmt.Errorf("%s: %w", source, err)
			}
			key, _, err := parsePrivateKey(entry.PrivateKey, "PRIVATE KEY")
			if err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			if err := r.addKey(key, KeyInfo{Source: source, Format: FormatJKS, Encoding: "jks", Encrypted: "JKS key protector", FriendlyName: alias}); err != nil {
				return err
			}
			for i, c := range entry.CertificateChain {
				if err := r.readJKSCert(c, fmt.Sprintf("%s certificate %d", source, i+1), alias, false, i == 0); err != nil {
					return err
				}
			}
		case ks.IsTrustedCertificateEntry(alias):
			entry, err := ks.GetTrustedCertificateEntry(alias)
			if err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			if err := r.readJKSCert(entry.Certificate, source, alias, true, true); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *reader) readJKSCert(c keystore.Certificate, source, alias string, trusted, named bool) error {
	if c.Type != "X.509" && c.Type != "X509" {
		r.note("%s skipped: certificate type %q", source, c.Type)
		return nil
	}
	cert, err := parseCertificate(c.Content)
	if err != nil {
		u := UnparsedCert{Source: source, Format: FormatJKS, Raw: c.Content, Err: err}
		if named {
			u.FriendlyName = alias
		}
		r.addUnparsed(u, false)
		return nil
	}
	info := CertInfo{Source: source, Format: FormatJKS, Trusted: trusted}
	if named {
		info.FriendlyName = alias
	}
	return r.addCert(cert, info)
}
