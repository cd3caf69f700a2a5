package chain

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNoChain reports that no path from the leaf to a trusted root was
	// found or that every path found was rejected by crypto/x509. Build
	// returns it wrapped in a *NoChainError.
	ErrNoChain = errors.New("no valid chain to a trusted root")
	// ErrNoLeaf reports input from which no leaf could be chosen: no
	// certificates, several candidates, or none matching Options.Key.
	ErrNoLeaf = errors.New("cannot tell which certificate is the leaf")
	// ErrPoolFull reports that a Pool already holds its maximum number of
	// certificates.
	ErrPoolFull = errors.New("pool is full")
	// ErrFetchRefused reports a URL the HTTPFetcher will not fetch: a
	// scheme other than http or https, or an address that is loopback,
	// private or link-local while HTTPFetcher.AllowPrivate is false.
	ErrFetchRefused = errors.New("fetch refused")
)

// NoChainError explains why Build found no valid chain. It unwraps to
// ErrNoChain.
type NoChainError struct {
	// Leaf is the certificate a chain was sought for.
	Leaf string
	// Reason says what went wrong in one sentence.
	Reason string
	// Rejected lists the complete paths that were found but failed
	// validation, with crypto/x509's reason.
	Rejected []Alternative
	// Notes lists candidates skipped and bounds reached during the search.
	Notes []string
}

// Error names the leaf, the reason and up to three rejected paths.
func (e *NoChainError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chain: no valid chain for %q: %s", e.Leaf, e.Reason)
	for i, a := range e.Rejected {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more rejected paths", len(e.Rejected)-3)
			break
		}
		fmt.Fprintf(&b, "; path %s rejected: %s", describePath(a.Chain), a.Reason)
	}
	return b.String()
}

// Unwrap returns ErrNoChain.
func (e *NoChainError) Unwrap() error { return ErrNoChain }
