// realtime_go: the Go peer of bench/realtime.sh. golang.org/x/net/websocket echoing every
// message on /ws/echo of -port, and, on /events/ of -sse-port, a net/http Server-Sent Events
// stream per GET that sends a tick each second, as snow_demo's /events/ does. Binds
// 127.0.0.1 only; port 0 picks a free one. Built in GOPATH mode against Debian's
// golang-golang-x-net-dev, so no network is needed:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o /tmp/realtime_go ./bench/peers/realtime_go
//	/tmp/realtime_go -port 0 -sse-port 0
//	    (prints `listening on 127.0.0.1:WS (WebSocket) and 127.0.0.1:SSE (events)`)
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/websocket"
)

// echo sends every message back, as a binary message, until the peer leaves.
func echo(ws *websocket.Conn) {
	for {
		var message []byte
		if err := websocket.Message.Receive(ws, &message); err != nil {
			return
		}
		if err := websocket.Message.Send(ws, message); err != nil {
			return
		}
	}
}

// events streams a tick a second until the client leaves.
func events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for tick := 1; ; tick++ {
		if _, err := fmt.Fprintf(w, "id: %d\nevent: tick\ndata: tick %d\n\n", tick, tick); err != nil {
			return
		}
		flusher.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-ticker.C:
		}
	}
}

// listen binds 127.0.0.1:port and serves handler on it in the background.
func listen(port int, handler http.Handler) net.Listener {
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		log.Fatal(err)
	}
	go func() { log.Fatal(http.Serve(listener, handler)) }()
	return listener
}

func main() {
	wsPort := flag.Int("port", 0, "WebSocket echo port (0: any free one)")
	ssePort := flag.Int("sse-port", 0, "event stream port (0: any free one)")
	flag.Parse()

	wsMux := http.NewServeMux()
	// A websocket.Server without a Handshake accepts a request with no Origin, as the load
	// tools send; websocket.Handler would refuse it.
	wsMux.Handle("/ws/echo", websocket.Server{Handler: echo})
	sseMux := http.NewServeMux()
	sseMux.HandleFunc("/events/", events)

	ws := listen(*wsPort, wsMux)
	sse := listen(*ssePort, sseMux)
	fmt.Printf("listening on %s (WebSocket) and %s (events)\n", ws.Addr(), sse.Addr())
	select {}
}
