// Package stepca runs a real step-ca certificate authority
// (github.com/smallstep/certificates) inside the process, for the quickstart
// and the end-to-end tests. It lives in the examples module so that the
// library itself never depends on step-ca.
//
// New makes a fresh two-level hierarchy (a root and an intermediate with
// P-256 keys) in a folder, configures one JWK provisioner whose X.509
// template keeps the request's whole subject (O, OU, L, ST, C, ...) and its
// SANs, as commercial CAs do (step-ca's default template keeps only the CN),
// and signs certificate requests through step-ca's own authorisation path:
// a one-time token is made for the request's names, authorised by the
// authority, and the request signed with the resulting options.
package stepca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/smallstep/certificates/authority"
	"github.com/smallstep/certificates/authority/config"
	"github.com/smallstep/certificates/authority/provisioner"
	"go.step.sm/crypto/jose"
)

// Template is the X.509 template of the provisioner: the subject of the
// request is kept whole, the SANs are those authorised by the token (the
// request's own), and the key usages fit a TLS server.
const Template = `{
	"subject": {{ toJson .Insecure.CR.Subject }},
	"sans": {{ toJson .SANs }},
{{- if typeIs "*rsa.PublicKey" .Insecure.CR.PublicKey }}
	"keyUsage": ["keyEncipherment", "digitalSignature"],
{{- else }}
	"keyUsage": ["digitalSignature"],
{{- end }}
	"extKeyUsage": ["serverAuth", "clientAuth"]
}`

const (
	provisionerName = "certwright@example.com"
	audience        = "https://localhost/1.0/sign"
)

// CA is an embedded step-ca authority.
type CA struct {
	// Root and Intermediate are the CA certificates; the intermediate signs.
	Root         *x509.Certificate
	Intermediate *x509.Certificate
	// RootFile and IntermediateFile are PEM copies written by New.
	RootFile         string
	IntermediateFile string

	auth *authority.Authority
	jwk  *jose.JSONWebKey
}

// Options tunes New. The zero value makes certificates valid for 24 hours,
// step-ca's default.
type Options struct {
	// Validity of issued certificates; zero means step-ca's default (24h).
	Validity time.Duration
}

// New creates the CA hierarchy in dir (root.crt, intermediate.crt; the keys
// stay in memory) and starts an embedded authority.
func New(dir string, opts *Options) (*CA, error) {
	if opts == nil {
		opts = &Options{}
	}
	now := time.Now()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	root, err := caCert("Certwright Quickstart Root CA", rootKey.Public(), nil, rootKey, now, 1)
	if err != nil {
		return nil, err
	}
	intKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	inter, err := caCert("Certwright Quickstart Intermediate CA", intKey.Public(), root, rootKey, now, 0)
	if err != nil {
		return nil, err
	}
	c := &CA{Root: root, Intermediate: inter,
		RootFile:         filepath.Join(dir, "root.crt"),
		IntermediateFile: filepath.Join(dir, "intermediate.crt"),
	}
	for name, cert := range map[string]*x509.Certificate{c.RootFile: root, c.IntermediateFile: inter} {
		if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
			return nil, fmt.Errorf("stepca: %w", err)
		}
	}

	jwkKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c.jwk = &jose.JSONWebKey{Key: jwkKey, Algorithm: "ES256", Use: "sig"}
	thumb, err := c.jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	c.jwk.KeyID = hex.EncodeToString(thumb)
	pub := c.jwk.Public()

	prov := &provisioner.JWK{
		Type: "JWK",
		Name: provisionerName,
		Key:  &pub,
		Options: &provisioner.Options{
			X509: &provisioner.X509Options{Template: Template},
		},
	}
	if opts.Validity > 0 {
		d := &provisioner.Duration{Duration: opts.Validity}
		max := &provisioner.Duration{Duration: opts.Validity}
		prov.Claims = &provisioner.Claims{DefaultTLSDur: d, MaxTLSDur: max}
	}
	cfg := &config.Config{
		AuthorityConfig: &config.AuthConfig{Provisioners: provisioner.List{prov}},
	}
	c.auth, err = authority.NewEmbedded(
		authority.WithConfig(cfg),
		authority.WithX509RootCerts(root),
		authority.WithX509Signer(inter, intKey),
	)
	if err != nil {
		return nil, fmt.Errorf("stepca: starting the authority: %w", err)
	}
	return c, nil
}

// Sign submits the DER certificate request csrDER to the authority, as
// `step ca sign` would: it makes a one-time token for the request's common
// name and SANs, has the authority authorise it, and signs. It returns the
// issued leaf, the intermediates and the root.
func (c *CA) Sign(ctx context.Context, csrDER []byte) (leaf *x509.Certificate, intermediates []*x509.Certificate, root *x509.Certificate, err error) {
	req, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("stepca: parsing the certificate request: %w", err)
	}
	var sans []string
	sans = append(sans, req.DNSNames...)
	for _, ip := range req.IPAddresses {
		sans = append(sans, ip.String())
	}
	sans = append(sans, req.EmailAddresses...)
	for _, u := range req.URIs {
		sans = append(sans, u.String())
	}
	subject := req.Subject.CommonName
	if subject == "" && len(sans) > 0 {
		subject = sans[0]
	}
	tok, err := c.token(subject, sans)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx = provisioner.NewContextWithMethod(authority.NewContext(ctx, c.auth), provisioner.SignMethod)
	signOpts, err := c.auth.Authorize(ctx, tok)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("stepca: authorising: %w", err)
	}
	certs, err := c.auth.SignWithContext(ctx, req, provisioner.SignOptions{}, signOpts...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("stepca: signing: %w", err)
	}
	if len(certs) == 0 {
		return nil, nil, nil, errors.New("stepca: the authority returned no certificate")
	}
	return certs[0], certs[1:], c.Root, nil
}

func (c *CA) token(subject string, sans []string) (string, error) {
	so := new(jose.SignerOptions)
	so.WithType("JWT")
	so.WithHeader("kid", c.jwk.KeyID)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: c.jwk.Key}, so)
	if err != nil {
		return "", err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	now := time.Now()
	claims := struct {
		jose.Claims
		SANs []string `json:"sans"`
	}{
		Claims: jose.Claims{
			ID:        hex.EncodeToString(id),
			Subject:   subject,
			Issuer:    provisionerName,
			IssuedAt:  jose.NewNumericDate(now),
			NotBefore: jose.NewNumericDate(now),
			Expiry:    jose.NewNumericDate(now.Add(5 * time.Minute)),
			Audience:  []string{audience},
		},
		SANs: sans,
	}
	return jose.Signed(sig).Claims(claims).CompactSerialize()
}

func caCert(cn string, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer, now time.Time, maxPath int) (*x509.Certificate, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	ski := sha1.Sum(spki)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Certwright Quickstart"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            maxPath,
		MaxPathLenZero:        maxPath == 0,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          ski[:],
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
