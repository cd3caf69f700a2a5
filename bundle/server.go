package bundle

import (
	"fmt"
	"strings"
)

// Server names a kind of server whose files Write knows how to lay out.
type Server string

// The servers Write supports, and what each gets in the folder. NAME is
// WriteOptions.Name (by default derived from the leaf's host name).
const (
	// Nginx: fullchain.pem (leaf and intermediates) and privkey.pem, for
	// ssl_certificate and ssl_certificate_key.
	Nginx Server = "nginx"
	// Apache: cert.pem (leaf), chain.pem (intermediates), fullchain.pem
	// (both) and privkey.pem. httpd 2.4.8+ reads fullchain.pem in
	// SSLCertificateFile; older ones take cert.pem with
	// SSLCertificateChainFile chain.pem.
	Apache Server = "apache"
	// HAProxy: NAME.pem with the leaf, the intermediates and the key, for
	// `bind ... ssl crt`.
	HAProxy Server = "haproxy"
	// IIS: NAME.pfx (PKCS#12, AES-256/PBKDF2, Windows Server 2019 and
	// later) with the key, the chain and a friendly name.
	IIS Server = "iis"
	// IISLegacy: NAME.pfx with 3DES and SHA-1 (the profile Windows Server
	// 2016 and older, and Java 8 before 8u301, can import; AES files fail
	// there with "the password is incorrect").
	IISLegacy Server = "iis-legacy"
	// Java: NAME.p12, a PKCS#12 keystore whose key entry has the alias
	// WriteOptions.FriendlyName, for Tomcat's certificateKeystoreFile and
	// keytool.
	Java Server = "java"
	// JavaJKS: NAME.jks, a legacy Java KeyStore (JKS) with one private key
	// entry, for old Java versions that cannot read PKCS#12 keystores.
	JavaJKS Server = "java-jks"
	// Kubernetes: NAME.yaml, a Secret of type kubernetes.io/tls with tls.crt
	// (leaf and intermediates), tls.key and, with IncludeRoot, ca.crt (the
	// root alone), for `kubectl apply -f`.
	Kubernetes Server = "k8s"
	// PEM: NAME.crt (leaf and intermediates) and NAME.key, the pair Envoy,
	// Caddy, Traefik and Go servers read.
	PEM Server = "pem"
)

// Servers lists every supported Server, in documentation order.
func Servers() []Server {
	return []Server{Nginx, Apache, HAProxy, IIS, IISLegacy, Java, JavaJKS, Kubernetes, PEM}
}

// ParseServer returns the Server named s (case-insensitive; "kubernetes"
// and "tomcat" are accepted as aliases of "k8s" and "java").
func ParseServer(s string) (Server, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	switch v {
	case "kubernetes":
		return Kubernetes, nil
	case "tomcat":
		return Java, nil
	}
	for _, srv := range Servers() {
		if string(srv) == v {
			return srv, nil
		}
	}
	names := make([]string, 0, len(Servers()))
	for _, srv := range Servers() {
		names = append(names, string(srv))
	}
	return "", fmt.Errorf("bundle: unknown server %q; choose one of %s", s, strings.Join(names, ", "))
}

// needsPassword reports whether the server's output is a password-protected
// container.
func (s Server) needsPassword() bool {
	switch s {
	case IIS, IISLegacy, Java, JavaJKS:
		return true
	}
	return false
}
