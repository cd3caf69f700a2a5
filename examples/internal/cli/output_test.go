package cli

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"

	"github.com/certwright/certwright/bundle"
)

func TestLeafFolder(t *testing.T) {
	tests := []struct {
		cn   string
		dns  []string
		want string
	}{
		{cn: "www.example.com", want: "www.example.com"},
		{cn: "ignored", dns: []string{"api.example.com", "b.example.com"}, want: "api.example.com"},
		{dns: []string{"*.example.com"}, want: "wildcard.example.com"},
		{cn: "../etc/passwd", want: "__etc_passwd"},
		{cn: `a\b/c`, want: "a_b_c"},
		{cn: "....", want: "__"},
		{want: "serial-1F"},
	}
	for _, tt := range tests {
		leaf := &x509.Certificate{Subject: pkix.Name{CommonName: tt.cn}, DNSNames: tt.dns, SerialNumber: big.NewInt(31)}
		if got := LeafFolder(leaf); got != tt.want {
			t.Errorf("LeafFolder(CN %q, DNS %q) = %q, want %q", tt.cn, tt.dns, got, tt.want)
		}
	}
}

func TestDescribeChain(t *testing.T) {
	name := func(cn string) *x509.Certificate { return &x509.Certificate{Subject: pkix.Name{CommonName: cn}} }
	b := &bundle.Bundle{Leaf: name("www"), Intermediates: []*x509.Certificate{name("Int \"A\"")}, Root: name("Root")}
	if got, want := DescribeChain(b), `"www" -> "Int \"A\"" -> "Root"`; got != want {
		t.Errorf("DescribeChain = %s, want %s", got, want)
	}
	b.Root = nil
	if got, want := DescribeChain(b), `"www" -> "Int \"A\""`; got != want {
		t.Errorf("without root: %s, want %s", got, want)
	}
}
