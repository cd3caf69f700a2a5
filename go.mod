module github.com/certwright/certwright

go 1.25.0

require (
	github.com/pavlo-v-chernykh/keystore-go/v4 v4.5.0
	github.com/smallstep/pkcs7 v0.2.3
	golang.org/x/crypto v0.55.0
	golang.org/x/crypto/x509roots/fallback v0.0.0-20260213171211-a408498e5541
	golang.org/x/net v0.58.0
	software.sslmate.com/src/go-pkcs12 v0.7.4
)

require golang.org/x/text v0.41.0 // indirect
