// Package storetest checks that an implementation of csr.Store behaves as
// the contract of csr.Store says, as testing/fstest does for fs.FS. The
// package's own stores (csr.DirStore, csr.SQLStore) pass it; a store
// written elsewhere (a secrets manager, another database) calls Run from
// its tests:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) csr.Store { return openEmptyStore(t) })
//	}
//
// Run covers Put, Find, List and Complete, refused and concurrent Puts,
// concurrent Completes, entries whose key lives elsewhere (KeyURI), and,
// when the store has them, the archive methods Archived, FindArchived and
// RemoveArchived that DirStore and SQLStore share. It does not test
// durability across crashes or what a store does on disk or in its
// database: those belong to each store's own tests.
//
// # Security
//
// Run makes throwaway keys with crypto/rand and puts them into the store
// given; give it a store made for the test, never one holding real keys.
package storetest
