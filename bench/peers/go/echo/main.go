// go_echo: the Go standard-library peer of snow's echo server. One goroutine per connection
// reads up to 16 KiB and writes back exactly what it read (Write sends all of it) until the
// peer closes. Go sets TCP_NODELAY on TCP connections by default. Run with GOMAXPROCS=1.
//
//	cd bench/peers/go && GOPROXY=off go build -o /tmp/go_echo ./echo
//	GOMAXPROCS=1 /tmp/go_echo -port N     (prints `listening on 127.0.0.1:PORT`)
//	nc 127.0.0.1 PORT     (type a line: it comes back)
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func echo(conn net.Conn) {
	defer conn.Close()
	buffer := make([]byte, 16*1024)
	for {
		n, err := conn.Read(buffer)
		if n > 0 {
			if _, werr := conn.Write(buffer[:n]); werr != nil {
				return
			}
		}
		if err != nil { // io.EOF when the peer closes
			return
		}
	}
}

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0: the kernel picks one)")
	flag.Parse()

	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", listener.Addr())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		os.Exit(0)
	}()
	for {
		conn, err := listener.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go echo(conn)
	}
}
