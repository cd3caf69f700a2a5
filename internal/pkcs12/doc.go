// Package pkcs12 decodes PKCS#12 (PFX, RFC 7292) files completely: every
// private key and certificate, with friendly names, local key IDs and
// Java's trusted-certificate marker.
//
// It exists because software.sslmate.com/src/go-pkcs12, which the formats
// package still uses to encode, reads DER only (EJBCA, NSS, macOS and Java
// write BER), reads one key and at most two AuthenticatedSafe items, takes
// the first certificate as the leaf even when it does not match the key,
// and puts no bound on iteration counts.
//
// Decode reads:
//   - DER and BER at every level: the PFX, the AuthenticatedSafe octets,
//     each SafeContents, constructed [0] IMPLICIT encrypted content, and
//     the decrypted key and safe contents (normalised by internal/ber);
//   - integrity: HMAC-SHA1/224/256/384/512 (and MD5, SHA-512/224, SHA-512/256)
//     keyed by the PKCS#12 KDF of RFC 7292 appendix B, PBMAC1 (RFC 9579)
//     with PBKDF2, and files without MAC;
//   - privacy: PKCS#12 PBES1 (3-key and 2-key 3DES, 128- and 40-bit RC2,
//     128- and 40-bit RC4) and PBES2 with PBKDF2 (HMAC-SHA1/224/256/384/512)
//     and AES-128/192/256-CBC, DES-EDE3-CBC or DES-CBC;
//   - bags: keyBag, pkcs8ShroudedKeyBag, certBag (X.509), nested
//     safeContentsBag; crlBag, secretBag and unknown bags are skipped with a
//     note;
//   - keys: RSA up to 8192 bits, ECDSA on P-224/256/384/521 (SEC1 inside
//     PKCS#8, curve named inside or outside), Ed25519, X25519.
//
// An empty password is tried both as an empty BMPString with its NUL
// terminator (OpenSSL) and as zero bytes (some NSS and Windows files). A
// Unicode password is encoded as UTF-16 for the PKCS#12 KDF and as UTF-8 for
// PBKDF2, as OpenSSL does.
//
// It does not: pair keys with certificates (callers do, by public key),
// verify certificates, read public-key integrity or privacy modes
// (signedData, envelopedData), DSA, RSASSA-PSS or Ed448 keys
// (ErrUnsupported), or encode anything.
//
// # Security
//
// Every loop is bounded. The ASN.1 nesting depth is checked at each level
// before parsing (Options.MaxDepth); the number of bags and the nesting of
// safeContentsBags are capped (Options.MaxBags, MaxSafeNesting). Every
// iteration count (MAC, PBES1, PBES2, PBMAC1) is compared with
// Options.MaxIterations before any derivation starts, and all derivations
// of one file together with Options.MaxTotalIterations, so a file declaring
// 10^9 iterations is refused in microseconds. RSA moduli over 8192 bits are
// refused before any arithmetic.
//
// The MAC is verified before anything is decrypted; a mismatch is
// ErrIncorrectPassword. Without a MAC, a decryption whose padding or
// structure is wrong is ErrIncorrectPassword too, since nothing else can
// tell a wrong password from corrupt data; with a verified MAC the same
// failure is ErrMalformed. A PBMAC1 key shorter than 20 bytes is refused:
// a 1-byte key lets a MAC made under one password verify under others.
//
// The legacy ciphers (RC2, RC4, DES, 3DES) and the SHA-1 MAC are read
// because files in the field use them; they protect nothing well, and the
// Encryption and MACAlgorithm fields let callers warn about them. Errors
// never contain the password or key material.
package pkcs12
