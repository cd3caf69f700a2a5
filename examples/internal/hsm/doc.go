// Package hsm keeps private keys inside a PKCS#11 token (a hardware
// security module, a smart card, SoftHSM2) for the csr and bundle
// packages: it generates a key in the token, marked sensitive and
// non-extractable, hands out a crypto.Signer that signs inside the token,
// and names the key with a PKCS#11 URI (RFC 7512) that a pending store
// keeps instead of the key. Resolver implements csr.KeyResolver, so
// bundle.Complete can pair the CA's certificate with the key left in the
// token.
//
// It lives in the examples module because PKCS#11 modules are C shared
// libraries: loading one needs cgo, and the certwright library stays pure
// Go. The PKCS#11 work is done by go.step.sm/crypto/kms/pkcs11 (over
// github.com/ThalesIgnite/crypto11); the attribute checks of Inspect use
// github.com/miekg/pkcs11 directly. Built without cgo (CGO_ENABLED=0), or
// with the nopkcs11 tag, the package compiles to the same API whose every
// call fails with ErrNoCgo; URI parsing works in both builds.
//
// # Security
//
// A PIN is never part of a URI this package writes (URI.String, the URI
// GenerateKey returns): the pending store holds only the module path, the
// token label and the key's id and label, and the PIN comes from
// Resolver.PIN (a file, a prompt, a secret manager) each time a token is
// opened. Error messages never repeat a PIN.
//
// GenerateKey asks for CKA_SENSITIVE=true and CKA_EXTRACTABLE=false and
// then reads the attributes back from the token (Inspect): a key the
// token reports as extractable, or whose private value it hands out, is
// deleted and refused. Those attributes are the token's promise; SoftHSM2
// keeps its keys in files under its tokendir, encrypted with a key derived
// from the PIN, so it protects against copying a key by mistake, not
// against an attacker who owns the machine: use a real HSM for that.
//
// crypto11 finalizes a module when opening one of its tokens fails (an
// unknown label, a wrong PIN), which invalidates the other tokens this
// process had open through the same module. Resolver checks the label
// before opening a second token of a module, but a wrong PIN there still
// closes the others: their signers then fail, and a new Resolver must be
// made.
package hsm
