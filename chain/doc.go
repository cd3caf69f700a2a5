// Package chain finds, completes, orders, validates and explains
// certificate paths, and diagnoses the chain a TLS server sends.
//
// Servers must send exactly the leaf first, then each issuer in order,
// with the root left out; when an intermediate is missing, clients that do
// not happen to have it cannot build a path (Microsoft KB 954755). Users
// hold unordered piles instead: a .p7b in root-first order, a PEM file with
// duplicates and unrelated certificates, a leaf alone, cross-signed
// hierarchies and expired cross-signs. Build turns any of that into the
// chain to serve and a Report of what it did; Diagnose and CheckServer say
// what is wrong with what a server sends.
//
// # Building
//
// Build takes a leaf, or a pile containing it (the leaf is the certificate
// matching Options.Key, else the one no other certificate of the pile
// issued). Candidate issuers come from the pile, from a shared Pool (for
// example the public intermediates a CA bundle ships), and, only when
// Options.FetchAIA is set, from the caIssuers URLs of the Authority
// Information Access extension through a Fetcher. Trust comes from
// Options.Roots (a listable Roots), Options.RootPool (an
// *x509.CertPool), or by default the system store, and the Mozilla set
// embedded in golang.org/x/crypto/x509roots/fallback/bundle when the
// system has none (MozillaRoots; this package does not register it as
// crypto/x509's global fallback).
//
// The search follows issuers by exact subject, trying trusted roots first
// and then candidates whose subject key id matches the authority key id;
// it handles several candidates with one subject (re-keys, cross-signs),
// cycles and self-issued certificates. Signature results are cached in the
// Pool by (signed certificate, issuer public key), so that each is computed
// once across all Builds sharing the Pool, and a thousand forged issuers
// sharing a key cost one check. Each complete path is ranked: a path
// ending in a root of Options.PreferRoots first, then one whose
// certificates all outlive the leaf, then the shortest, then the one with
// the strongest algorithms (weakest link first); the first one that
// crypto/x509 accepts is returned and the others are reported with the
// reason.
//
// # Validation
//
// Build does not implement RFC 5280 itself: every accepted path is
// accepted by crypto/x509's Certificate.Verify, given exactly that path's
// intermediates and its root (so Verify cannot wander into other paths),
// with Options.CurrentTime, DNSName and KeyUsages.
//
// To make a shared Pool pay off, a path leaf, I1, ..., root is by default
// validated as two Verify calls: I1 up to the root (cached in the Pool for
// the time window in which all those certificates are valid), and the leaf
// against I1 as its only anchor. This is equal to one Verify of the whole
// path when all of the following hold, and Build checks them before
// using it (otherwise, and for every rejection, it verifies the whole
// path): the root carries no constraint function (as the Mozilla set's
// distrust-after dates); I1 is a CA with valid basic constraints; no
// certificate of the path carries policy constraints, policy mappings or
// inhibitAnyPolicy (then policy processing with no caller policy set
// cannot fail); every path-length constraint holds for the whole path;
// the certificates above I1 carry no name constraints and no extended key
// usage that removes a requested usage; and no two certificates share a
// subject and key. The argument, check by check of crypto/x509 (go1.26
// verify.go): signatures, validity periods, unhandled critical extensions
// and basic constraints are checked for every certificate by one of the
// two calls in the same role or checked here; name constraints of I1 apply
// to the leaf in the leaf call and those above I1 do not exist; extended
// key usages above I1 remove nothing; host name matching concerns the
// leaf only. Set Options.WholePathVerify to always use one Verify of the
// whole path; the tests run every corpus case both ways and require the
// same verdict.
//
// # Diagnosing
//
// Diagnose takes the certificates a server sends, in order, and reports
// missing intermediates, wrong order, duplicates, extra and unrelated
// certificates, the root sent, expired, not yet valid and soon-expiring
// links, a host name mismatch, weak signatures (MD5, SHA-1) and RSA keys
// under 2048 bits, and a missing serverAuth extended key usage, with the
// corrected chain. CheckServer dials a server (with SNI, a timeout, and
// STARTTLS for SMTP, IMAP and POP3), records the chain as sent, and
// diagnoses it.
//
// # Distributing a private root
//
// Clients trust a private CA only once its root is installed on them
// (Microsoft Q216339). ExportRoot writes a root as PEM, as a DER .cer for
// Windows and as a PKCS#12 trust store for Java. TrustStore installs into,
// checks and removes from a trust store: SystemStore (Debian's
// update-ca-certificates or Red Hat's update-ca-trust), NSSStore (certutil
// on an NSS database, as Chrome and Firefox use on Linux) and JavaStore
// (keytool). InstallAll and RemoveAll act on several stores and report each
// one's outcome; one store failing does not stop the others. The Windows and
// macOS commands are documented on TrustStore.
//
// # Security
//
// Neither Build, Diagnose nor CheckServer checks revocation (CRL, OCSP,
// CRLite): a revoked certificate yields a valid chain. Certificate
// Transparency, CA/Browser Forum rules beyond what crypto/x509 enforces,
// and platform trust settings (distrust lists of a system store other
// than the roots themselves) are not checked either.
//
// Everything given to Build may be hostile. The search is bounded:
// Options.MaxSignatureChecks (2,000) signature checks, MaxCandidates
// (1,024) issuers per certificate, MaxSteps (20,000) candidates in total,
// MaxDepth (10) certificates per path, MaxPaths (16) complete paths,
// MaxFetches (8) downloads; a Pool holds at most
// PoolOptions.MaxCertificates certificates and bounded caches; candidate
// issuers with RSA keys outside 1,024..8,192 bits are skipped with a note,
// because checking a signature with a huge key costs seconds. Bounds
// reached are reported in Report.Notes or NoChainError.Notes.
//
// AIA fetching is off unless asked for. HTTPFetcher refuses schemes other
// than http and https, and addresses that are loopback, private,
// link-local, unspecified, multicast or in 100.64.0.0/10, checked on the
// resolved address when connecting (so DNS rebinding does not help), also
// after redirects; it uses no proxy, caps the response size, redirects and
// time, and caches responses. AIA responses are parsed by ParseIssuers,
// which bounds BER nesting before the PKCS#7 parser sees them.
//
// CheckServer handshakes with InsecureSkipVerify, because a broken chain
// is what it must capture; nothing but the handshake happens on that
// connection, and the chain is validated afterwards by Diagnose.
package chain
