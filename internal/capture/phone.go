// Package capture brings photos into the open assessment from a camera: the clinic's phone over
// the local network (a one-time web page behind a random token, no app and no internet), and
// USB cameras (V4L2 on Linux: camera_linux.go; frame conversion: usb.go). It knows nothing of
// Fyne, the model or SQL: it hands the received bytes to a callback.
package capture

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"image"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/skip2/go-qrcode"
)

// Limits of a phone session.
const (
	DefaultTTL      = 10 * time.Minute
	MaxUploadBytes  = 25 << 20
	tokenBytes      = 24 // 192 bits
	multipartMemory = 1 << 20
)

// PhoneOptions configure a phone session.
type PhoneOptions struct {
	// Addr is where to listen; "" means this laptop's LAN address on a free port. Tests use
	// "127.0.0.1:0".
	Addr string
	// TTL is how long the link works (DefaultTTL if 0).
	TTL time.Duration
	// OnPhoto receives each accepted upload with the phone page's language ("en", "vi"). An
	// error is shown on the phone (the photo is then not in the assessment), so its text
	// should say what to do, in that language.
	OnPhoto func(name string, data []byte, lang string) error
	// OnNewLink is called with the new link after a photo was accepted: a link takes one
	// photo, and the next needs the new QR code. It runs on the server's goroutine.
	OnNewLink func(url string)
	// Now is the clock (tests move it).
	Now func() time.Time
}

// PhoneSession is one running capture server: it listens only until Close. Its link takes
// one photo: after an accepted upload the token changes (a new QR code), so a link seen over
// a shoulder or left in a phone's history cannot send photos into later assessments.
type PhoneSession struct {
	expires time.Time
	opts    PhoneOptions
	srv     *http.Server
	ln      net.Listener
	// receiving admits receivers uploads at a time: each may hold up to 25 MB while it
	// arrives and is checked; taking lets one photo at a time in.
	receiving chan struct{}
	taking    sync.Mutex

	mu     sync.Mutex
	token  string
	closed bool
}

// ErrNoNetwork means the laptop has no local network address a phone could reach.
var ErrNoNetwork = errors.New("this laptop is not connected to a local network (Wi-Fi or cable); connect it to the same network as the phone")

// LANAddress is this laptop's first private IPv4 address on an interface that is up.
func LANAddress() (net.IP, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip4 := n.IP.To4(); ip4 != nil && ip4.IsPrivate() {
					return ip4, nil
				}
			}
		}
	}
	return nil, ErrNoNetwork
}

// StartPhone starts the capture server and returns its one-time URL.
func StartPhone(opts PhoneOptions) (*PhoneSession, error) {
	if opts.OnPhoto == nil {
		return nil, errors.New("capture: no receiver for photos")
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	addr := opts.Addr
	if addr == "" {
		ip, err := LANAddress()
		if err != nil {
			return nil, err
		}
		addr = net.JoinHostPort(ip.String(), "0")
	}
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	s := &PhoneSession{token: token, expires: opts.Now().Add(opts.TTL), opts: opts, ln: ln, receiving: make(chan struct{}, receivers)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /c/{token}/{$}", s.guard(s.page))
	mux.HandleFunc("POST /c/{token}/upload", s.guard(s.upload))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.reply(w, r, http.StatusForbidden, "forbidden")
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute, WriteTimeout: 30 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

func newToken() (string, error) {
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// URL is the current link: what the QR code encodes.
func (s *PhoneSession) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.urlLocked()
}

func (s *PhoneSession) urlLocked() string {
	return fmt.Sprintf("http://%s/c/%s/", s.ln.Addr().String(), s.token)
}

// rotate retires the current token for a new one and returns the new link.
func (s *PhoneSession) rotate() (string, error) {
	t, err := newToken()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = t
	return s.urlLocked(), nil
}

// Expires is when the link stops working.
func (s *PhoneSession) Expires() time.Time { return s.expires }

// Close stops the server at once; the link stops working.
func (s *PhoneSession) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
		// An upload still trickling in after 2 s is cut off: the link dies with the dialog.
		return s.srv.Close()
	} else if err != nil {
		return err
	}
	return nil
}

// QRCode is the URL as a QR code image, size pixels square.
func (s *PhoneSession) QRCode(size int) (image.Image, error) {
	q, err := qrcode.New(s.URL(), qrcode.Medium)
	if err != nil {
		return nil, err
	}
	return q.Image(size), nil
}

// guard admits only requests with the session's current token, before it expires. Refusals
// close the connection after the reply; the body of a request it will not take is read and
// thrown away first (refuse), so that the phone always gets the reason.
func (s *PhoneSession) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		token := s.token
		s.mu.Unlock()
		if subtle.ConstantTimeCompare([]byte(r.PathValue("token")), []byte(token)) != 1 {
			s.refuse(w, r, http.StatusForbidden, "forbidden")
			return
		}
		if !s.opts.Now().Before(s.expires) {
			s.refuse(w, r, http.StatusGone, "expired")
			return
		}
		next(w, r)
	}
}

// A refused upload's body is read and thrown away while it keeps arriving (each read within
// drainStall, at most drainTime in all): a phone on the clinic's Wi-Fi sends its photo in a few
// seconds, while a client that stalls is answered at once and does not hold the server.
const (
	drainTime  = 5 * time.Second
	drainStall = 300 * time.Millisecond
)

// refuse answers a request the session will not take, with the reason, and closes the
// connection. The body is drained first (drainTime, drainStall): a reply sent while the phone
// is still sending reaches it as a broken connection ("EOF"), not as the message.
func (s *PhoneSession) refuse(w http.ResponseWriter, r *http.Request, status int, key string) {
	if r.Body != nil {
		rc := http.NewResponseController(w)
		buf := make([]byte, 64<<10)
		start, read := time.Now(), 0
		for read <= MaxUploadBytes+multipartMemory && time.Since(start) < drainTime {
			rc.SetReadDeadline(time.Now().Add(drainStall))
			n, err := r.Body.Read(buf)
			read += n
			if err != nil {
				break
			}
		}
	}
	w.Header().Set("Connection", "close")
	s.reply(w, r, status, key)
}

// How slowly an upload may arrive. A phone on the clinic's Wi-Fi sends a 5 MB photo in a few
// seconds; one that sends nothing for uploadStall, or less than minUploadRate on average once
// uploadGrace has passed, is cut off: a token holder trickling a body holds a receiving slot
// for seconds, not for the server's two-minute read timeout.
const (
	minUploadRate = 64 << 10 // bytes per second, on average
	uploadGrace   = 5 * time.Second
	uploadStall   = 5 * time.Second
	// receivers is how many bodies may arrive at once (each up to MaxUploadBytes): a slow
	// one never keeps the clinic's next photo out. Photos are then taken one at a time.
	receivers = 2
)

// errTooSlow ends an upload that arrives slower than minUploadRate.
var errTooSlow = errors.New("the photo arrived too slowly")

// pacedBody is a request body that must keep arriving: each read may wait uploadStall at
// most, and after uploadGrace the average rate must be minUploadRate.
type pacedBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	n     int64
	slow  bool // cut off for arriving too slowly (the multipart reader may not pass the error on)
}

func (b *pacedBody) Read(p []byte) (int, error) {
	if el := time.Since(b.start); el > uploadGrace && float64(b.n) < el.Seconds()*minUploadRate {
		b.slow = true
		return 0, errTooSlow
	}
	b.rc.SetReadDeadline(time.Now().Add(uploadStall))
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		b.slow, err = true, errTooSlow
	}
	return n, err
}

func (s *PhoneSession) upload(w http.ResponseWriter, r *http.Request) {
	select {
	case s.receiving <- struct{}{}:
		defer func() { <-s.receiving }()
	default:
		s.refuse(w, r, http.StatusServiceUnavailable, "busy")
		return
	}
	paced := &pacedBody{ReadCloser: r.Body, rc: http.NewResponseController(w), start: time.Now()}
	r.Body = paced
	r.Body = http.MaxBytesReader(w, r.Body, MaxUploadBytes+multipartMemory)
	file, header, err := r.FormFile("photo")
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.reply(w, r, http.StatusRequestEntityTooLarge, "too_large")
		return
	case err != nil && paced.slow:
		w.Header().Set("Connection", "close")
		s.reply(w, r, http.StatusRequestTimeout, "too_slow")
		return
	case err != nil:
		s.reply(w, r, http.StatusBadRequest, "no_photo")
		return
	}
	defer file.Close()
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	data, err := io.ReadAll(io.LimitReader(file, MaxUploadBytes+1))
	if errors.As(err, &tooBig) || len(data) > MaxUploadBytes {
		s.reply(w, r, http.StatusRequestEntityTooLarge, "too_large")
		return
	}
	if err != nil {
		s.reply(w, r, http.StatusBadRequest, "no_photo")
		return
	}
	if _, _, err := image.DecodeConfig(bytes.NewReader(data)); err != nil {
		s.reply(w, r, http.StatusUnsupportedMediaType, "not_image")
		return
	}
	// One photo at a time from here: the link is spent by the first, and an upload that
	// arrived beside it with the same link finds it spent.
	s.taking.Lock()
	defer s.taking.Unlock()
	s.mu.Lock()
	current := subtle.ConstantTimeCompare([]byte(r.PathValue("token")), []byte(s.token)) == 1
	s.mu.Unlock()
	if !current {
		s.reply(w, r, http.StatusForbidden, "forbidden")
		return
	}
	if err := s.opts.OnPhoto(header.Filename, data, phoneLang(r)); err != nil {
		// Refused photos do not spend the link: the phone may try again with a better one.
		s.replyText(w, r, http.StatusUnprocessableEntity, err.Error())
		return
	}
	// The link is spent once a photo is in. Photos are taken one at a time (taking), so none
	// can slip in with the old token between the photo and the change.
	next, err := s.rotate()
	if err != nil {
		s.Close()
		s.replyText(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	if s.opts.OnNewLink != nil {
		s.opts.OnNewLink(next)
	}
	s.reply(w, r, http.StatusOK, "sent")
}

//go:embed phone.html
var pageFS embed.FS

var pageTmpl = template.Must(template.ParseFS(pageFS, "phone.html"))

// phoneLang picks the page language from the phone's Accept-Language.
func phoneLang(r *http.Request) string {
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		if strings.HasPrefix(tag, "vi") {
			return "vi"
		}
		if strings.HasPrefix(tag, "en") {
			return "en"
		}
	}
	return "en"
}

type pageData struct {
	Lang   string
	T      map[string]string
	Status int
	Result string // message after an upload ("" on the capture page)
	OK     bool
}

func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'")
	h.Set("Content-Type", "text/html; charset=utf-8")
}

func (s *PhoneSession) page(w http.ResponseWriter, r *http.Request) {
	headers(w)
	lang := phoneLang(r)
	pageTmpl.Execute(w, pageData{Lang: lang, T: texts[lang]})
}

// reply answers with a page carrying one of the texts' messages.
func (s *PhoneSession) reply(w http.ResponseWriter, r *http.Request, status int, key string) {
	lang := phoneLang(r)
	s.replyText(w, r, status, texts[lang]["msg_"+key])
}

func (s *PhoneSession) replyText(w http.ResponseWriter, r *http.Request, status int, msg string) {
	headers(w)
	w.WriteHeader(status)
	lang := phoneLang(r)
	pageTmpl.Execute(w, pageData{Lang: lang, T: texts[lang], Status: status, Result: msg, OK: status == http.StatusOK})
}

// texts of the phone page. The phone page is served to a browser, not drawn by Fyne, so its
// strings live here rather than in locale/.
var texts = map[string]map[string]string{
	"en": {
		"title":         "Dermal — send a photo",
		"intro":         "Take a sharp, close photo of the lesion in good light, then send it to the laptop.",
		"take":          "Take photo",
		"send":          "Send to the laptop",
		"again":         "Take another photo",
		"msg_sent":      "Photo sent. It is now in the assessment on the laptop. For another photo, scan the new QR code on the laptop.",
		"msg_busy":      "The laptop is receiving another photo. Send this one again in a moment.",
		"msg_forbidden": "This link is not valid or was already used. Scan the QR code on the laptop again.",
		"msg_expired":   "This link has expired. On the laptop, close the phone dialog and open it again for a new QR code.",
		"msg_too_large": "The photo is larger than 25 MB. Use the camera's normal photo size.",
		"msg_not_image": "That file is not a photo. Take a photo with the camera.",
		"msg_no_photo":  "No photo was received. Take a photo first, then press Send.",
		"msg_too_slow":  "The photo arrived too slowly and was stopped. Move closer to the Wi-Fi, or use the camera's normal photo size, and send it again.",
	},
	"vi": {
		"title":         "Dermal — gửi ảnh",
		"intro":         "Chụp ảnh tổn thương thật rõ, ở gần và đủ sáng, rồi gửi sang máy tính.",
		"take":          "Chụp ảnh",
		"send":          "Gửi sang máy tính",
		"again":         "Chụp ảnh khác",
		"msg_sent":      "Đã gửi ảnh. Ảnh đã có trong lần đánh giá trên máy tính. Để gửi ảnh khác, hãy quét mã QR mới trên máy tính.",
		"msg_busy":      "Máy tính đang nhận một ảnh khác. Hãy gửi lại ảnh này sau giây lát.",
		"msg_forbidden": "Liên kết không hợp lệ hoặc đã được dùng. Hãy quét lại mã QR trên máy tính.",
		"msg_expired":   "Liên kết đã hết hạn. Trên máy tính, đóng hộp thoại điện thoại rồi mở lại để có mã QR mới.",
		"msg_too_large": "Ảnh lớn hơn 25 MB. Hãy dùng cỡ ảnh thường của máy ảnh.",
		"msg_not_image": "Tệp này không phải ảnh. Hãy chụp ảnh bằng máy ảnh.",
		"msg_no_photo":  "Chưa nhận được ảnh. Hãy chụp ảnh trước, rồi bấm Gửi.",
		"msg_too_slow":  "Ảnh đến quá chậm nên đã bị dừng. Hãy đến gần Wi-Fi hơn, hoặc dùng cỡ ảnh thường của máy ảnh, rồi gửi lại.",
	},
}
