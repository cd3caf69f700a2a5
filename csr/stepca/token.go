package stepca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"strings"
	"time"
)

// DefaultTokenValidity is how long a token made by NewToken is valid when
// Token.Validity is zero: step ca token's default.
const DefaultTokenValidity = 5 * time.Minute

// MaxTokenValidity bounds Token.Validity. step-ca accepts longer tokens,
// but a one-time token is a bearer credential for a certificate: it should
// not outlive the submission it was made for.
const MaxTokenValidity = 24 * time.Hour

// Token describes a JWK provisioner's one-time token (OTT): the credential
// step-ca's /1.0/sign endpoint takes with a certificate request. It is what
// `step ca token` makes from a provisioner's private key.
type Token struct {
	// Provisioner is the provisioner's name, the token's issuer (iss).
	// step-ca finds the provisioner by this name and KeyID. Required.
	Provisioner string
	// KeyID is the provisioner key's identifier (the JWS header's kid).
	// Empty means the RFC 7638 SHA-256 thumbprint of Key's public key,
	// which is what `step ca provisioner add` uses by default.
	KeyID string
	// Key is the provisioner's private key: ECDSA P-256 (ES256), P-384
	// (ES384), P-521 (ES512), RSA (RS256) or Ed25519 (EdDSA). It may be a
	// hardware-backed crypto.Signer. Required.
	Key crypto.Signer
	// CA is the CA's base URL (https://ca.example.com:9000). The token's
	// audience (aud) is CA + "/1.0/sign"; step-ca compares it with its
	// configured DNS names, ignoring the port. Required.
	CA string
	// Subject is the token's subject (sub): the certificate's common name.
	// Empty means the request's common name, or its first SAN.
	Subject string
	// SANs are the names the token authorises. step-ca refuses a request
	// whose SANs differ. Empty means the request's DNS names, IP
	// addresses, e-mail addresses and URIs.
	SANs []string
	// CSR is the DER certificate request the token is for. Optional: when
	// set, it supplies the default Subject and SANs and the token is bound
	// to it (the cnf claim "x5rt#S256", the SHA-256 of the DER), so step-ca
	// refuses the token for any other request.
	CSR []byte
	// Now is the issue time (iat, nbf). Zero means the current time.
	Now time.Time
	// Validity is the time from Now to the expiry (exp). Zero means
	// DefaultTokenValidity; more than MaxTokenValidity is refused.
	Validity time.Duration
	// Rand is the source of the token ID (jti) and of the signature's
	// randomness. Nil means crypto/rand.Reader.
	Rand io.Reader
}

// ErrUnsupportedKey is returned by NewToken and Thumbprint for a key type
// JWS cannot carry here (only ECDSA P-256/P-384/P-521, RSA and Ed25519 are).
var ErrUnsupportedKey = errors.New("stepca: unsupported provisioner key type")

// NewToken makes a JWK provisioner's one-time token: a JWS compact
// serialisation, header {"alg", "kid", "typ":"JWT"}, with the claims
// step-ca checks (iss, aud, sub, sans, iat, nbf, exp, a random jti) and,
// when t.CSR is set, the request fingerprint (cnf). A token is single-use:
// step-ca records its jti and refuses it the second time.
//
// NewToken does not contact the CA, does not read key files (DecryptJWK
// opens step's encrypted ones), and does not check that the provisioner
// exists.
func NewToken(t *Token) (string, error) {
	if t == nil || t.Provisioner == "" {
		return "", errors.New("stepca: the token needs the provisioner's name (Token.Provisioner)")
	}
	if t.Key == nil {
		return "", errors.New("stepca: the token needs the provisioner's private key (Token.Key)")
	}
	aud, err := signURL(t.CA)
	if err != nil {
		return "", err
	}
	validity := t.Validity
	switch {
	case validity == 0:
		validity = DefaultTokenValidity
	case validity < 0 || validity > MaxTokenValidity:
		return "", fmt.Errorf("stepca: token validity %v is outside (0, %v]", validity, MaxTokenValidity)
	}
	subject, sans := t.Subject, t.SANs
	var fingerprint string
	if t.CSR != nil {
		req, err := x509.ParseCertificateRequest(t.CSR)
		if err != nil {
			return "", fmt.Errorf("stepca: the token's certificate request (Token.CSR) is not a DER request: %w", err)
		}
		names := RequestNames(req)
		if len(sans) == 0 {
			sans = names
		}
		if subject == "" {
			subject = req.Subject.CommonName
		}
		sum := sha256.Sum256(req.Raw)
		fingerprint = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if subject == "" && len(sans) > 0 {
		subject = sans[0]
	}
	if subject == "" {
		return "", errors.New("stepca: the token needs a subject: set Token.Subject, Token.SANs or a Token.CSR with a common name or SANs")
	}
	alg, err := algorithm(t.Key.Public())
	if err != nil {
		return "", err
	}
	kid := t.KeyID
	if kid == "" {
		if kid, err = Thumbprint(t.Key.Public()); err != nil {
			return "", err
		}
	}
	rnd := t.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	jti := make([]byte, 32)
	if _, err := io.ReadFull(rnd, jti); err != nil {
		return "", fmt.Errorf("stepca: reading randomness for the token ID: %w", err)
	}
	now := t.Now
	if now.IsZero() {
		now = time.Now()
	}
	type confirmation struct {
		Fingerprint string `json:"x5rt#S256"`
	}
	claims := struct {
		Issuer    string        `json:"iss"`
		Subject   string        `json:"sub"`
		Audience  []string      `json:"aud"`
		Expiry    int64         `json:"exp"`
		NotBefore int64         `json:"nbf"`
		IssuedAt  int64         `json:"iat"`
		ID        string        `json:"jti"`
		SANs      []string      `json:"sans,omitempty"`
		Cnf       *confirmation `json:"cnf,omitempty"`
	}{
		Issuer:    t.Provisioner,
		Subject:   subject,
		Audience:  []string{aud},
		Expiry:    now.Add(validity).Unix(),
		NotBefore: now.Unix(),
		IssuedAt:  now.Unix(),
		ID:        hex.EncodeToString(jti),
		SANs:      sans,
	}
	if fingerprint != "" {
		claims.Cnf = &confirmation{fingerprint}
	}
	header := struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg, kid, "JWT"}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sig, err := signJWS(rnd, t.Key, alg, []byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// RequestNames lists the subject alternative names of a request as step-ca
// reads them from a token's sans claim: DNS names, IP addresses, e-mail
// addresses, then URIs.
func RequestNames(req *x509.CertificateRequest) []string {
	var sans []string
	sans = append(sans, req.DNSNames...)
	for _, ip := range req.IPAddresses {
		sans = append(sans, ip.String())
	}
	sans = append(sans, req.EmailAddresses...)
	for _, u := range req.URIs {
		sans = append(sans, u.String())
	}
	return sans
}

// signURL returns the token audience for the CA's base URL.
func signURL(ca string) (string, error) {
	u, err := baseURL(ca)
	if err != nil {
		return "", err
	}
	return u + "/1.0/sign", nil
}

// baseURL checks a CA URL and returns it without a trailing slash.
func baseURL(ca string) (string, error) {
	if ca == "" {
		return "", errors.New("stepca: no CA URL: set the CA's https:// address")
	}
	u, err := url.Parse(ca)
	if err != nil {
		return "", fmt.Errorf("stepca: the CA URL %q: %w", ca, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("stepca: the CA URL %q is not an https:// address (step-ca only serves HTTPS)", ca)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("stepca: the CA URL %q has a query, fragment or user: give only https://host[:port][/path]", ca)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// algorithm returns the JWS algorithm for a public key.
func algorithm(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
		return "", fmt.Errorf("%w: ECDSA on curve %s", ErrUnsupportedKey, k.Curve.Params().Name)
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("%w: RSA key of %d bits (at least 2048 are needed)", ErrUnsupportedKey, k.N.BitLen())
		}
		return "RS256", nil
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}

// signJWS signs the JWS signing input with alg (RFC 7518 section 3).
func signJWS(rnd io.Reader, key crypto.Signer, alg string, input []byte) ([]byte, error) {
	var h crypto.Hash
	switch alg {
	case "ES256", "RS256":
		h = crypto.SHA256
	case "ES384":
		h = crypto.SHA384
	case "ES512":
		h = crypto.SHA512
	case "EdDSA":
		sig, err := key.Sign(rnd, input, crypto.Hash(0))
		if err != nil {
			return nil, fmt.Errorf("stepca: signing the token: %w", err)
		}
		return sig, nil
	}
	d := h.New()
	d.Write(input)
	sig, err := key.Sign(rnd, d.Sum(nil), h)
	if err != nil {
		return nil, fmt.Errorf("stepca: signing the token: %w", err)
	}
	if alg[0] != 'E' {
		return sig, nil
	}
	// crypto.Signer gives ECDSA signatures in ASN.1; JWS wants r||s, each
	// the size of the curve's order.
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 {
		return nil, errors.New("stepca: the provisioner key returned an ECDSA signature that is not ASN.1")
	}
	size := (key.Public().(*ecdsa.PublicKey).Curve.Params().BitSize + 7) / 8
	if rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 8*size || rs.S.BitLen() > 8*size {
		return nil, errors.New("stepca: the provisioner key returned an ECDSA signature out of range")
	}
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url without
// padding) of a public key: the key ID step gives a provisioner key by
// default.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	var members string
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		alg, err := algorithm(k)
		if err != nil {
			return "", err
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		ecdh, err := k.Bytes() // 0x04 || X || Y
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
		}
		crv := map[string]string{"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[alg]
		members = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, crv, b64(ecdh[1:1+size]), b64(ecdh[1+size:]))
	case *rsa.PublicKey:
		e := big.NewInt(int64(k.E)).Bytes()
		members = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, b64(e), b64(k.N.Bytes()))
	case ed25519.PublicKey:
		members = fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":%q}`, b64(k))
	default:
		return "", fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
	}
	sum := sha256.Sum256([]byte(members))
	return b64(sum[:]), nil
}
