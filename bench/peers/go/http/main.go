// go_http: the Go standard-library peer of snow's HTTP server. net/http, one goroutine per
// connection (net/http's own model), a /plaintext handler writing "Hello, World!" as
// text/plain; net/http adds Date and Content-Length. The harness runs it with GOMAXPROCS=1.
//
//	cd bench/peers/go && GOPROXY=off go build -o /tmp/go_http ./http
//	GOMAXPROCS=1 /tmp/go_http -port N     (prints `listening on 127.0.0.1:PORT`)
//	curl http://127.0.0.1:PORT/plaintext
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

var hello = []byte("Hello, World!")

func plaintext(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.Write(hello)
}

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0: the kernel picks one)")
	flag.Parse()

	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/plaintext", plaintext)
	server := &http.Server{Handler: mux}

	// os.Stdout is unbuffered: the line is out before the first request can arrive.
	fmt.Printf("listening on %s\n", listener.Addr())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		server.Close() // Serve then returns http.ErrServerClosed
	}()
	if err := server.Serve(listener); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
