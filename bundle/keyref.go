package bundle

import "errors"

// WriteCertificates writes the bundle's certificates without any key into
// dir (created 0700 when missing): cert.pem (the leaf), chain.pem (the
// intermediates; empty when there are none) and fullchain.pem (the leaf and
// the intermediates), with the root appended to chain.pem and
// fullchain.pem when opts.IncludeRoot is set. These are the Apache and
// Certbot names, without privkey.pem. It is meant for bundles whose key
// cannot be exported, but serves any bundle.
//
// A request made for a key generated inside a PKCS#11 token is completed
// like any other (Complete with CompleteOptions.KeyResolver); its Bundle
// holds the token's crypto.Signer. What works with such a bundle:
// TLSCertificate and NewSNI (crypto/tls signs each handshake in the token),
// and WriteCertificates, for a server that takes its key by reference (for
// example nginx or HAProxy with an OpenSSL PKCS#11 provider or engine and
// the key's URI, Apache mod_ssl with a PKCS#11 URI in
// SSLCertificateKeyFile). What cannot: every Server layout of Write, and
// Export, put the key in a file (privkey.pem, NAME.key, the HAProxy PEM,
// .pfx, .p12, .jks, the Kubernetes Secret); they fail with
// ErrKeyNotExportable before anything is written.
//
// The files are written as Write writes them: the bundle is checked first
// (the key still has to match the leaf, so that certificates are never
// written for the wrong key), existing files are kept unless
// opts.Overwrite, each file is written atomically with mode 0644 and read
// back and checked. Only opts.IncludeRoot and opts.Overwrite (or
// AllowKeyOverwrite, which implies it) are used.
func (b *Bundle) WriteCertificates(dir string, opts *WriteOptions) ([]string, error) {
	if opts == nil {
		opts = &WriteOptions{}
	}
	if err := b.Check(); err != nil {
		return nil, err
	}
	if opts.IncludeRoot && b.Root == nil {
		return nil, errors.New("bundle: IncludeRoot is set but the bundle has no root certificate; build the chain with the root known (chain.Build with roots) or leave IncludeRoot off")
	}
	full := b.Chain(opts.IncludeRoot)
	chainOnly := full[1:]
	outs := []output{
		{name: "cert.pem", data: encodeCertsPEM(full[:1]), verify: b.verifyPEM(full[:1], false)},
		{name: "chain.pem", data: encodeCertsPEM(chainOnly), verify: b.verifyPEMChainOnly(chainOnly)},
		{name: "fullchain.pem", data: encodeCertsPEM(full), verify: b.verifyPEM(full, false)},
	}
	return writeAll(dir, outs, opts.Overwrite, opts.AllowKeyOverwrite)
}

// WriteCertificates writes the certificate files of the completed request
// (see Bundle.WriteCertificates) and remembers that it succeeded, so that
// Finish then archives the pending request. For a request whose key stays
// in a token, that is the whole of its output: the pending entry only
// refers to the key, and archiving it deletes nothing.
func (c *Completed) WriteCertificates(dir string, opts *WriteOptions) ([]string, error) {
	w, err := c.Bundle.WriteCertificates(dir, opts)
	if err != nil {
		return w, err
	}
	c.written = append(c.written, w...)
	return w, nil
}
