package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"go.step.sm/crypto/jose"

	submit "github.com/certwright/certwright/csr/stepca"
)

// BenchmarkToken compares minting a JWK one-time token with NewToken
// (standard library only) and with go.step.sm/crypto/jose, the code `step
// ca token` and step-ca's own client use.
func BenchmarkToken(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	sans := []string{"www.example.com", "example.com"}
	b.Run("certwright", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := submit.NewToken(&submit.Token{Provisioner: "ops", KeyID: "kid", Key: key, CA: "https://ca.example.com", Subject: sans[0], SANs: sans, Now: now}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-jose", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			so := new(jose.SignerOptions)
			so.WithType("JWT")
			so.WithHeader("kid", "kid")
			sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, so)
			if err != nil {
				b.Fatal(err)
			}
			id := make([]byte, 32)
			rand.Read(id)
			claims := struct {
				jose.Claims
				SANs []string `json:"sans"`
			}{jose.Claims{ID: hex.EncodeToString(id), Subject: sans[0], Issuer: "ops", IssuedAt: jose.NewNumericDate(now),
				NotBefore: jose.NewNumericDate(now), Expiry: jose.NewNumericDate(now.Add(5 * time.Minute)),
				Audience: []string{"https://ca.example.com/1.0/sign"}}, sans}
			if _, err := jose.Signed(sig).Claims(claims).CompactSerialize(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
