// Baseline relay for the benchmarks: the ClawNexus relay protocol v1 (plus
// the binary DATA extension and peer_claw_id in JOINED) in Go, written the
// way a Go service of this kind is usually written: net/http and
// gorilla/websocket, one reader goroutine per connection and one writer
// goroutine that drains the connection's queue and flushes everything queued
// in one write (a pooled bufio.Writer, so an idle socket holds no write
// buffer), crypto/tls when given a certificate.  Same rules as the nginx
// module and the Node baseline: HS256 JWT at REGISTER and JOIN, newest
// REGISTER owns a name, JOINED to the initiator first, DATA only to the other
// member of an active room, PEER_LEFT on close, PING -> PONG, a sender stops
// being read while its peer has more than 1 MiB queued.  No per-message
// logging.
//
// usage: go-relay -port N [-host 127.0.0.1] -secret-file F [-issuer ISS]
//                 [-leeway S] [-max-message BYTES] [-cert PEM -key PEM]
package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

const highWater = 1 << 20 // bytes queued to a receiver before its sender waits

var (
	secret     []byte
	issuer     string
	hasIssuer  bool
	leeway     int64
	maxMessage int64
)

// bufConn lets the writer goroutine collect every frame of one batch in a
// pooled buffer and hand them to the socket (or TLS) in one write.
type bufConn struct {
	net.Conn
	w *bufio.Writer
}

func (c *bufConn) Write(p []byte) (int, error) {
	if c.w != nil {
		return c.w.Write(p)
	}
	return c.Conn.Write(p)
}

type bufListener struct{ net.Listener }

func (l bufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return &bufConn{Conn: c}, nil
}

var writerPool = sync.Pool{New: func() interface{} {
	return bufio.NewWriterSize(nil, 32<<10)
}}

type outMsg struct {
	kind int
	data []byte
}

type client struct {
	ws  *websocket.Conn
	raw *bufConn

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []outMsg
	queued int
	closed bool
	wake   chan struct{}

	// owned by the registry lock
	id     string
	binary bool
	rooms  map[string]*room
}

type room struct {
	init, target *client
	active       bool
}

var (
	regMu sync.Mutex
	names = map[string]*client{}
	rooms = map[string]*room{}
)

func (c *client) enqueue(kind int, data []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.queue = append(c.queue, outMsg{kind, data})
	c.queued += len(data)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// waitDrain blocks the calling reader while c has too much queued.
func (c *client) waitDrain() {
	c.mu.Lock()
	for c.queued > highWater && !c.closed {
		c.cond.Wait()
	}
	c.mu.Unlock()
}

func (c *client) writer() {
	var batch []outMsg
	for range c.wake {
		c.mu.Lock()
		batch, c.queue = c.queue, batch[:0]
		closed := c.closed
		c.mu.Unlock()
		if len(batch) > 0 {
			bw := writerPool.Get().(*bufio.Writer)
			bw.Reset(c.raw.Conn)
			c.raw.w = bw
			n := 0
			var err error
			for i := range batch {
				if err == nil {
					err = c.ws.WriteMessage(batch[i].kind, batch[i].data)
				}
				n += len(batch[i].data)
				batch[i].data = nil
			}
			if err == nil {
				err = bw.Flush()
			}
			c.raw.w = nil
			bw.Reset(nil)
			writerPool.Put(bw)
			c.mu.Lock()
			c.queued -= n
			c.cond.Broadcast()
			c.mu.Unlock()
			if err != nil {
				c.ws.Close()
			}
		}
		if closed {
			return
		}
	}
}

func (c *client) send(v interface{}) {
	b, err := json.Marshal(v)
	if err == nil {
		c.enqueue(websocket.TextMessage, b)
	}
}

func (c *client) fail(code, message string) {
	c.send(map[string]string{"type": "ERROR", "code": code, "message": message})
}

type inMsg struct {
	Type      string  `json:"type"`
	ClawID    *string `json:"claw_id"`
	AuthToken string  `json:"auth_token"`
	Target    *string `json:"target_claw_id"`
	RoomID    string  `json:"room_id"`
	Payload   *string `json:"payload"`
	Binary    bool    `json:"binary"`
}

type dataMsg struct {
	Type    string `json:"type"`
	RoomID  string `json:"room_id"`
	Payload string `json:"payload"`
}

// verifyJWT: HS256, exp (required) and nbf with leeway, sub, iss.
func verifyJWT(tok, sub string) bool {
	if len(tok) > 4096 {
		return false
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	enc := base64.RawURLEncoding
	hdrRaw, err1 := enc.DecodeString(parts[0])
	claimsRaw, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || len(sig) != sha256.Size {
		return false
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdrRaw, &hdr) != nil || hdr.Alg != "HS256" {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(tok[:len(parts[0])+1+len(parts[1])]))
	if !hmac.Equal(mac.Sum(nil), sig) {
		return false
	}
	var claims struct {
		Exp *float64 `json:"exp"`
		Nbf *float64 `json:"nbf"`
		Sub *string  `json:"sub"`
		Iss *string  `json:"iss"`
	}
	if json.Unmarshal(claimsRaw, &claims) != nil {
		return false
	}
	now := time.Now().Unix()
	if claims.Exp == nil || now > int64(*claims.Exp)+leeway {
		return false
	}
	if claims.Nbf != nil && int64(*claims.Nbf) > now+leeway {
		return false
	}
	if claims.Sub == nil || *claims.Sub != sub {
		return false
	}
	if hasIssuer && (claims.Iss == nil || *claims.Iss != issuer) {
		return false
	}
	return true
}

func newRoomID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (c *client) onText(data []byte) {
	var m inMsg
	if err := json.Unmarshal(data, &m); err != nil {
		c.fail("BAD_MESSAGE", "malformed JSON")
		return
	}
	switch m.Type {
	case "PING":
		c.send(map[string]string{"type": "PONG"})
	case "REGISTER":
		if m.ClawID == nil || len(*m.ClawID) == 0 || len(*m.ClawID) > 255 {
			c.fail("BAD_MESSAGE", "bad claw_id")
			return
		}
		if !verifyJWT(m.AuthToken, *m.ClawID) {
			c.fail("AUTH_FAILED", "token refused")
			return
		}
		regMu.Lock()
		if c.id != "" && names[c.id] == c {
			delete(names, c.id)
		}
		c.id = *m.ClawID
		c.binary = m.Binary
		names[c.id] = c
		regMu.Unlock()
		if m.Binary {
			c.send(map[string]interface{}{"type": "REGISTERED", "claw_id": *m.ClawID, "binary": true})
		} else {
			c.send(map[string]string{"type": "REGISTERED", "claw_id": *m.ClawID})
		}
	case "JOIN":
		regMu.Lock()
		id := c.id
		regMu.Unlock()
		if id == "" {
			c.fail("NOT_REGISTERED", "REGISTER first")
			return
		}
		if m.ClawID == nil || *m.ClawID != id || m.Target == nil {
			c.fail("BAD_MESSAGE", "bad JOIN")
			return
		}
		if !verifyJWT(m.AuthToken, id) {
			c.fail("AUTH_FAILED", "token refused")
			return
		}
		regMu.Lock()
		target := names[*m.Target]
		if target == nil || target == c {
			regMu.Unlock()
			c.fail("TARGET_OFFLINE", "target not connected")
			return
		}
		rid := newRoomID()
		r := &room{init: c, target: target}
		rooms[rid] = r
		c.rooms[rid] = r
		target.rooms[rid] = r
		regMu.Unlock()
		target.send(map[string]string{"type": "INCOMING", "room_id": rid,
			"from_claw_id": id, "from_pubkey": ""})
	case "ACCEPT", "REJECT":
		regMu.Lock()
		r := rooms[m.RoomID]
		if r == nil || r.target != c || r.active {
			regMu.Unlock()
			c.fail("ROOM_NOT_FOUND", "no such pending room")
			return
		}
		if m.Type == "REJECT" {
			delete(rooms, m.RoomID)
			delete(r.init.rooms, m.RoomID)
			delete(c.rooms, m.RoomID)
			regMu.Unlock()
			r.init.send(map[string]string{"type": "PEER_LEFT", "room_id": m.RoomID})
			return
		}
		r.active = true
		initID, myID := r.init.id, c.id
		regMu.Unlock()
		r.init.send(map[string]string{"type": "JOINED", "room_id": m.RoomID, "peer_claw_id": myID})
		c.send(map[string]string{"type": "JOINED", "room_id": m.RoomID, "peer_claw_id": initID})
	case "DATA":
		to := c.peerIn(m.RoomID)
		if to == nil {
			c.fail("ROOM_NOT_FOUND", "not in this room")
			return
		}
		if m.Payload == nil {
			c.fail("BAD_MESSAGE", "payload must be a string")
			return
		}
		b, err := json.Marshal(dataMsg{"DATA", m.RoomID, *m.Payload})
		if err != nil {
			return
		}
		to.enqueue(websocket.TextMessage, b)
		to.waitDrain()
	default:
		c.fail("BAD_MESSAGE", "unknown type")
	}
}

// peerIn returns the other member of an active room c belongs to.
func (c *client) peerIn(rid string) *client {
	regMu.Lock()
	defer regMu.Unlock()
	r := c.rooms[rid]
	if r == nil || !r.active {
		return nil
	}
	if r.init == c {
		return r.target
	}
	return r.init
}

// Binary DATA: 0x01, room id length L, L bytes of room id, payload.
func (c *client) onBinary(buf []byte) {
	if len(buf) < 2 || buf[0] != 1 || buf[1] < 1 || buf[1] > 64 ||
		len(buf) < 2+int(buf[1]) {
		c.fail("BAD_MESSAGE", "bad binary frame")
		return
	}
	to := c.peerIn(string(buf[2 : 2+int(buf[1])]))
	if to == nil {
		c.fail("ROOM_NOT_FOUND", "not in this room")
		return
	}
	regMu.Lock()
	ok := to.binary
	regMu.Unlock()
	if !ok {
		c.fail("BAD_MESSAGE", "peer does not take binary DATA")
		return
	}
	to.enqueue(websocket.BinaryMessage, buf)
	to.waitDrain()
}

func (c *client) leave() {
	regMu.Lock()
	if c.id != "" && names[c.id] == c {
		delete(names, c.id)
	}
	var left []*client
	var ids []string
	for rid, r := range c.rooms {
		delete(rooms, rid)
		other := r.init
		if other == c {
			other = r.target
		}
		delete(other.rooms, rid)
		left = append(left, other)
		ids = append(ids, rid)
	}
	c.rooms = nil
	regMu.Unlock()
	for i, o := range left {
		o.send(map[string]string{"type": "PEER_LEFT", "room_id": ids[i]})
	}
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

var upgrader = websocket.Upgrader{
	// ReadBufferSize 0 reuses the HTTP server's 4 KiB reader; the write
	// buffer is taken from a pool only while a message is being written.
	WriteBufferPool: &sync.Pool{},
	CheckOrigin:     func(*http.Request) bool { return true },
}

func serveRelay(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	raw, ok := ws.UnderlyingConn().(*bufConn)
	if !ok {
		ws.Close()
		return
	}
	c := &client{ws: ws, raw: raw, wake: make(chan struct{}, 1),
		rooms: map[string]*room{}}
	c.cond = sync.NewCond(&c.mu)
	ws.SetReadLimit(maxMessage)
	// control replies go through the writer goroutine, the only writer
	ws.SetPingHandler(func(data string) error {
		c.enqueue(websocket.PongMessage, []byte(data))
		return nil
	})
	ws.SetCloseHandler(func(code int, text string) error {
		c.enqueue(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""))
		return nil
	})
	done := make(chan struct{})
	go func() { c.writer(); close(done) }()
	for {
		kind, data, err := ws.ReadMessage()
		if err != nil {
			break
		}
		if kind == websocket.BinaryMessage {
			c.onBinary(data)
		} else {
			c.onText(data)
		}
	}
	c.leave()
	<-done
	ws.Close()
}

func main() {
	port := flag.Int("port", 18800, "TCP port")
	host := flag.String("host", "127.0.0.1", "address to listen on")
	secretFile := flag.String("secret-file", "", "HS256 secret (required)")
	iss := flag.String("issuer", "", "required iss claim")
	lw := flag.Int64("leeway", 30, "clock leeway in seconds")
	mm := flag.Int64("max-message", 1<<20, "largest message in bytes")
	cert := flag.String("cert", "", "TLS certificate (PEM); with -key serves wss")
	key := flag.String("key", "", "TLS private key (PEM)")
	flag.Parse()
	if *secretFile == "" {
		fmt.Fprintln(os.Stderr, "go-relay: -secret-file is required")
		os.Exit(2)
	}
	s, err := os.ReadFile(*secretFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-relay:", err)
		os.Exit(2)
	}
	secret = []byte(strings.TrimRight(string(s), " \t\r\n"))
	issuer, hasIssuer = *iss, *iss != ""
	leeway, maxMessage = *lw, *mm

	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-relay:", err)
		os.Exit(1)
	}
	if *cert != "" {
		kp, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-relay: TLS:", err)
			os.Exit(2)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{kp},
			MinVersion: tls.VersionTLS12})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/relay", serveRelay)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; os.Exit(0) }()
	fmt.Printf("go-relay listening on %s:%d\n", *host, *port)
	srv.Serve(bufListener{ln})
}
