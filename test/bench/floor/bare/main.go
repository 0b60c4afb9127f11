// Command bare is the benchmark's bare Go floor (issue 19): a program that
// links crypto/tls and net/http, as any client of an API server over HTTPS
// must, and does nothing else. Its start-up is the least any Go command
// can take; the library floor (test/bench/floor/lib) set beside it shows
// what the Kubernetes libraries add.
//
//	bare
//
// It prints "bare floor" and exits 0. test/bench builds it the way the
// Makefile builds the plugin and runs it.
package main

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
)

func main() {
	// Used at run time, so that the linker keeps both packages (an import
	// alone would let it drop their code, though not their init).
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
	if len(os.Args) > 1 {
		// Never taken by the benchmark: it only keeps the request path.
		resp, err := client.Get(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		resp.Body.Close()
	}
	fmt.Println("bare floor")
}
