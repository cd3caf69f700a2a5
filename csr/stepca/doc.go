// Package stepca submits certificate requests to a CA: to step-ca
// (github.com/smallstep/certificates) through its JSON API, and to any ACME
// server through golang.org/x/crypto/acme.
//
// It is the step between csr.Create, which makes the request and keeps its
// key pending, and bundle.Complete, which pairs the CA's answer with that
// key and writes the server's files.
//
// # step-ca
//
// Client speaks the four endpoints a certificate's life needs: Sign (POST
// /1.0/sign, a request and a one-time token), Renew (POST /1.0/renew over
// mutual TLS with the current certificate), Roots (GET /1.0/roots) and Root
// (GET /root/{sha256}, to bootstrap trust from a fingerprint as `step ca
// bootstrap` does). NewToken makes the JWK provisioner's one-time token
// from the provisioner's private key, as `step ca token` does, bound to the
// request when Token.CSR is set; DecryptJWK opens the provisioner key as
// step keeps it (the JWE of ca.json's "encryptedKey", PBES2-HS256+A128KW
// and A256GCM) with its password. The client is written on the standard
// library: linking step-ca's own client would pull in hundreds of modules.
//
//	tok, err := stepca.NewToken(&stepca.Token{Provisioner: "admin@example.com",
//		Key: provisionerKey, CA: "https://ca.internal:9000", CSR: der})
//	c := &stepca.Client{URL: "https://ca.internal:9000", RootCAs: roots}
//	leaf, chain, err := c.Sign(ctx, der, tok)
//
// The package does not speak the SSH, revoke or admin endpoints, and does
// not make X5C, OIDC or cloud-identity tokens.
//
// # ACME
//
// ACMEIssue places an order, proves control of each name with HTTP-01
// through an HTTP01 handler the caller mounts at
// /.well-known/acme-challenge/, finalizes the order with the caller's own
// request (not a key the ACME client makes) and downloads the chain.
//
// # Security
//
// The CA's TLS certificate is verified against Client.RootCAs only, never
// the system store by default: a private CA's clients pin its root. Without
// the root, Client.Root fetches it and accepts it only if its SHA-256
// fingerprint is the one given, and only if the server's certificate
// chains to it for the URL's host name.
//
// A one-time token is a bearer credential for a certificate with its
// names until it expires or is used: keep tokens short-lived (five minutes
// by default), bind them to the request (Token.CSR), and never log them.
// The provisioner's private key can mint tokens for any name the
// provisioner allows: keep it as secret as a CA key. Errors never contain
// tokens or keys.
//
// DecryptJWK refuses more than MaxPBKDF2Iterations key-derivation rounds
// and returns ErrIncorrectPassword without saying more about the key.
//
// Every answer is bounded (Client.MaxResponse, at most 16 certificates,
// 100 ACME authorizations); the returned leaf is checked to carry the
// request's public key, and each certificate to be signed by the next. The
// chain is not verified to a trusted root here: bundle.Complete does that
// with the roots the caller trusts.
package stepca
