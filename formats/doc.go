// Package formats reads whatever a CA, a server or a colleague hands over,
// by content, and writes every format a server needs.
//
// # Reading
//
// Read and ReadFile take bytes (or a file name) and return a Contents with
// every certificate, private key and certificate request found, the
// detected formats, per-item metadata (where each item came from, PKCS#12
// friendly names and local key IDs, trust markers) and the key/certificate
// pairs, matched by public key, never by position. Detection looks at the
// content only; file extensions are ignored because they lie (a .crt may
// be DER, a .p7b may be PEM, a .cer may be base64 without header lines).
//
// Supported inputs:
//   - PEM: any number of blocks, text before, between and after them (as
//     in `openssl x509 -text` output), CRLF line ends, a UTF-8 BOM,
//     trailing spaces; labels CERTIFICATE, X509 CERTIFICATE, TRUSTED
//     CERTIFICATE (OpenSSL trust settings are reported in Notes and
//     CertInfo), PKCS7, CMS, CERTIFICATE REQUEST, NEW CERTIFICATE REQUEST,
//     PRIVATE KEY, ENCRYPTED PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY
//     (with or without EC PARAMETERS before it) and legacy encrypted PEM
//     (Proc-Type: 4,ENCRYPTED with DEK-Info). A PKCS#7 in a block labelled
//     CERTIFICATE (as AD CS certnew.p7b returns) is detected by content.
//   - base64 without header lines, with any line length and line ends.
//   - DER: a certificate, several certificates back to back, a request,
//     PKCS#8, PKCS#1 and SEC 1 keys, encrypted PKCS#8, PKCS#7, PKCS#12.
//   - PKCS#7 / CMS signed data, DER or BER (indefinite lengths, empty
//     indefinite SETs), certificates-only or signed; signatures are not
//     verified. Certificates are taken by a direct walk of the structure;
//     github.com/smallstep/pkcs7 is used only as a fallback and to name
//     the signer of signed data.
//   - PKCS#12 through internal/pkcs12: DER and BER, AES/PBKDF2, RC2 and
//     3DES, with or without MAC, several keys and safes, trust stores.
//   - JKS (read with the store password; key entries with
//     ReadOptions.KeyPassword, default the store password) through
//     github.com/pavlo-v-chernykh/keystore-go. JCEKS is refused with a
//     conversion hint.
//
// Malformed or unknown PEM blocks and unreadable elements are skipped
// with a note when something else was read; a wrong or missing password is
// always an error (ErrIncorrectPassword). Certificates that crypto/x509
// rejects (a negative serial number, say, as in NIST PKITS) are listed in
// Contents.Unparsed with where they were and the parse error, and noted;
// they never vanish silently. Errors are *ReadError values
// naming the file, what the input looked like and the cause; every failed
// attempt is kept.
//
// # Writing
//
// EncodeCertificatesPEM, EncodeKeyPEM / EncodeKeyDER (PKCS#8 by default,
// PKCS#1 / SEC 1 on request, encrypted PKCS#8 with a password),
// EncodePKCS7 and EncodePKCS7PEM (certificates-only .p7b), EncodePKCS12
// with the named profiles Modern (default), Legacy3DES, LegacyRC2 and
// Passwordless, and EncodePKCS12TrustStore. DER of a certificate is
// cert.Raw. The package does not write files; callers write keys with
// mode 0600 through an atomic writer.
//
// This package does not verify signatures, chains, validity periods or
// revocation: see package chain.
//
// # Security
//
// Every input is untrusted. Read bounds the input size, the number of PEM
// blocks and certificates, the ASN.1 nesting depth (checked with
// internal/ber before any recursive parser runs: a few MiB of "30 80 30
// 80 ..." would otherwise overflow the stack and kill the process), the
// key derivation iterations of PKCS#12 and encrypted PKCS#8 (checked
// before any derivation, so a file declaring 10^9 iterations is refused at
// once; their sum over all encrypted items of one input is bounded too) and
// the size of RSA keys (private keys and the public keys of
// certificates and requests; default 8192 bits). JKS length fields are
// checked against the input before the JKS library allocates anything.
// Each bound fails with ErrLimit.
//
// Weak protection is reported in Notes: legacy encrypted PEM (one MD5
// round), JKS (SHA-1 key protector), PKCS#12 with RC2 or 3DES. Passwords
// never appear in errors or notes. A wrong password on legacy encrypted
// PEM or encrypted PKCS#8 is detected by padding and structure only (CBC
// has no integrity check).
package formats
