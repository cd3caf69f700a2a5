// Package bundle completes certificate requests and writes exactly the files
// each kind of server needs.
//
// # Completing a request
//
// When a CA answers a CSR made with the csr package, Complete (or
// CompleteFiles) reads whatever came back (a .cer in DER or base64, a .p7b in
// any order, a .pfx, several files at once) with the formats package, pairs
// each end-entity certificate with its pending key by public key (never by
// position or name), and builds the chain with the chain package. The
// result is a Completed per certificate: a Bundle (key, leaf, ordered
// intermediates, root) and a handle on the pending request.
// Completed.WriteAndFinish writes the server's files and only then archives
// the pending request (csr.Store.Complete), so a key is never filed away
// before its certificate is safely on disk. When no pending key matches, the
// error (errors.Is ErrKeyNotFound, a *KeyNotFoundError) names the
// certificate's subject, serial and public-key fingerprint, the keys that
// were searched, and the likely cause.
//
// Pair does the same for keys outside a pending store: a loose key file
// beside certificate files, or a .pfx, when a site moves to another server.
//
// # Writing for a server
//
// Bundle.Write lays out the files a server wants in a folder: nginx
// (fullchain.pem, privkey.pem), Apache (cert.pem, chain.pem, fullchain.pem,
// privkey.pem), HAProxy (one PEM), IIS (.pfx, AES or the 3DES profile for
// Windows Server 2016 and older), Java (a PKCS#12 keystore, or JKS on
// request), Kubernetes (a kubernetes.io/tls Secret manifest) and a plain PEM
// pair for Envoy, Caddy, Traefik and Go. Bundle.TLSCertificate and NewSNI
// serve bundles from a Go program directly.
//
// # Keys in hardware
//
// A pending entry may hold only a reference to a key that never leaves a
// PKCS#11 token (csr.Pending.KeyURI). CompleteOptions.KeyResolver turns it
// into a crypto.Signer, checked against the certificate. Such a key cannot
// be written to a file: every layout with a key file, and Export, fail with
// ErrKeyNotExportable before anything is written, and the request stays
// pending. WriteCertificates writes cert.pem, chain.pem and fullchain.pem
// alone, and TLSCertificate and NewSNI serve the bundle with the token
// signing each handshake.
//
// # Renewal
//
// CheckExpiry and ExpiryOf judge certificates by days before expiry or by a
// fraction of their lifetime (ACMEFraction, as ACME clients renew). Renew
// makes the renewal request from the issued certificate, with a new key of
// the same type or the old key, and keeps the key pending first.
// Bundle.Replace and Completed.ReplaceAndFinish serve the renewed
// certificate in place of the old one: the old files are copied to
// archive/<time>/, with a journal for rollback or roll-forward after a
// crash and a lock per folder. When the CA switched to another issuing
// intermediate (KB 954755) the change is reported, and a new leaf is always
// written with its own chain, never beside the old one.
//
// The package does not talk to CAs (submitting the CSR is the CA's
// interface: a web form, ACME, step-ca's API), does not reload servers, and
// does not check revocation.
//
// # Security
//
// Every file is written atomically (temporary file in the same folder,
// fsync, rename, fsync of the folder); files holding a private key are
// created 0600 before any byte is written, certificate files 0644, and a
// new output folder 0700. No file holding a key is replaced unless
// WriteOptions.AllowKeyOverwrite says so, and a refused overwrite is
// detected before anything is written. Each output is read back from disk
// and checked before Write returns: the key matches the leaf, the
// certificates are the chain in issuing order, and the root is absent
// unless asked for, because servers must not send it.
//
// Password-protected outputs (.pfx, .p12, .jks) require a password; the
// 3DES profile (IISLegacy) and JKS use weak, legacy cryptography that old
// consumers demand: treat those files as secret and move them over a
// protected channel.
//
// Roots found in a CA's response are never trusted because they came with
// it: the chain is built to CompleteOptions.Roots or the system's roots.
// Errors name files, subjects and public-key fingerprints, never secrets.
// Replaced keys are archived in a 0700 folder, never deleted.
package bundle
