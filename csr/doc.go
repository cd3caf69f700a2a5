// Package csr makes private keys and certificate signing requests (CSRs),
// checks them before they go to a certificate authority, and keeps each key
// in a pending-request store until the CA's certificate comes back.
//
// A request is the six subject fields of the IIS "Distinguished Name
// Properties" page (CN, O, OU, L, ST, C) and the subject alternative names
// (DNS names, IP addresses, e-mail addresses, URIs):
//
//	key, err := csr.GenerateKey(nil, csr.RSA2048)
//	req := &csr.Request{CN: "www.example.com", O: "Example Ltd", L: "Leeds", ST: "West Yorkshire", C: "GB"}
//	der, warnings, err := csr.Create(nil, req, key, nil)
//	pemBytes := csr.EncodePEM(der)
//
// Create normalises the request (host names to punycode, in the CN too as
// the CA/Browser Forum requires; a host-name CN added to the DNS names) and
// runs the pre-submission checks (Check): the country is
// an ISO 3166 code, the state is not abbreviated, RFC 5280 length limits,
// host-name syntax and wildcards, duplicate and missing SANs. Each problem
// is a Finding with a Code a program can branch on and a message a person
// understands; errors stop the request with a *CheckError listing all of
// them, and Options.Strict makes warnings stop it too.
//
// The pending-request store keeps each key until the CA answers: Store is
// the small interface (Put, Find by the certificate's public key, List,
// Complete), DirStore the folder implementation (atomic, durable writes,
// file locking, optional passphrase encryption), KeyID the SHA-256 of the
// public key that names an entry. Put the key before the request leaves the
// process; Complete the entry only after the certificate is safely written.
// SQLStore (OpenSQL) keeps pending keys in PostgreSQL for fleets of machines
// that cannot share a folder, sealed with a caller-supplied key-encryption
// key; it speaks database/sql only, so the caller picks the driver. Package
// csr/storetest holds the contract tests every Store implementation passes.
// Entries may hold a reference to a key kept in hardware (Pending.KeyURI)
// instead of the key; a KeyResolver turns it back into a crypto.Signer.
//
// FromCertificate starts a renewal from an issued certificate. Parse reads
// an existing request (PEM, the old "NEW CERTIFICATE REQUEST" label, DER or
// base64), CheckSignature verifies it, and Describe reports its fields.
//
// The package does not talk to a CA, does not decide what a CA will put in
// the certificate (public CAs drop OU and set the subject from their own
// validation), and does not add extensions such as key usage to the
// request: CAs set those from the certificate profile.
//
// # Security
//
// Keys are RSA of 2048 to 8192 bits, ECDSA P-256 or P-384, or Ed25519.
// RSA below 2048 bits is refused both by GenerateKey and, for a key the
// caller brings, by Create (ErrWeakKey). Requests are signed with SHA-256
// or better (SHA-384 for P-384, SHA-512 for P-521, pure Ed25519 for
// Ed25519); MD5 and SHA-1 are refused when asked for and reported by
// CheckSignature on parsed requests. Few public CAs issue certificates for
// Ed25519 keys yet; prefer P-256 or RSA for a public web server.
//
// A request carries only public data, but its private key is the one thing
// that cannot be recovered: a certificate without its key is worthless.
// GenerateKey and Create keep nothing; put the key in a Store before the
// request leaves the process, and complete the entry only after the issued
// certificate is safely written. The package never logs, never prints and
// never puts key material in an error or a String result.
//
// Parse bounds its work (MaxInput bytes, a fixed number of PEM blocks) and
// does not verify the signature by itself, so that a damaged request can be
// described; call CheckSignature before trusting one. A valid signature
// only proves possession of the key, not that the names in the request
// belong to whoever sent it.
package csr
