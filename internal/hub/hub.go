// Package hub talks to the district hub: an Orthanc with its DICOMweb plugin (STOW-RS stores
// an instance, QIDO-RS searches, WADO-RS retrieves), over HTTPS verified against the
// district's certificate authority; plain HTTP only to this computer (a hub tried locally).
// It knows HTTP and DICOMweb, not the records, and says what went wrong in words a clinician
// can act on.
package hub

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Errors, each in words a clinician acts on.
var (
	ErrRefused     = errors.New("the district server refused the user name or password (check them in Settings, or ask the district's IT officer)")
	ErrForbidden   = errors.New("the district server does not let this login do that (a clinic reads only its own referrals; ask the district's IT officer)")
	ErrUnreachable = errors.New("the district server cannot be reached (is the network up? the referral stays queued and is sent later)")
	ErrCertificate = errors.New("the district server's certificate is not the district's (check the district's certificate file; nothing was sent)")
	ErrServer      = errors.New("the district server could not store or answer (it will be tried again)")
	ErrURL         = errors.New("the district server's address is not usable")
)

// Client is a connection to one hub.
type Client struct {
	base     *url.URL
	user     string
	password string
	http     *http.Client
}

// New makes a client for the hub at rawURL (its DICOMweb root, such as
// https://hub.district/dicom-web/). caPEM, when set, is the only authority its certificate
// may come from. A password is never sent over plain HTTP, except to a loopback address.
func New(rawURL, user, password, caPEM string) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%w: %q is not an http(s) address such as https://hub.district/dicom-web/", ErrURL, rawURL)
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%w: %s is plain HTTP; the password would cross the network readable: use https://", ErrURL, rawURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if caPEM != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(caPEM)) {
			return nil, fmt.Errorf("%w: the district's certificate file holds no PEM certificate", ErrURL)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &Client{base: u, user: user, password: password, http: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}, nil
}

// IsLoopback reports whether host is this computer.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// do sends a request and maps transport and status failures to the errors above.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	req.SetBasicAuth(c.user, c.password)
	resp, err := c.http.Do(req)
	if err != nil {
		var certErr *tls.CertificateVerificationError
		var hostErr x509.HostnameError
		var authErr x509.UnknownAuthorityError
		var invalid x509.CertificateInvalidError
		switch {
		case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &authErr), errors.As(err, &invalid):
			return nil, fmt.Errorf("%w: %v", ErrCertificate, err)
		case errors.Is(err, context.Canceled):
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		resp.Body.Close()
		return nil, fmt.Errorf("%w (HTTP %d)", ErrRefused, resp.StatusCode)
	case resp.StatusCode == http.StatusForbidden:
		resp.Body.Close()
		return nil, fmt.Errorf("%w (HTTP %d)", ErrForbidden, resp.StatusCode)
	case resp.StatusCode >= 300:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		resp.Body.Close()
		return nil, fmt.Errorf("%w: HTTP %d %s", ErrServer, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return resp, nil
}

func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	u.Path += strings.TrimPrefix(path, "/")
	// QIDO's wildcard stays a '*': Orthanc matches an escaped %2A literally.
	u.RawQuery = strings.ReplaceAll(q.Encode(), "%2A", "*")
	return u.String()
}

// Store sends one DICOM instance of a study (STOW-RS to the study's own URL, so that a hub
// that keeps clinics apart sees whose study it is, and the hub refuses an instance of another
// study) and returns once the hub has stored it: its reply lists the instance among the stored
// ones and none failed.
func (c *Client) Store(ctx context.Context, studyUID, instanceUID string, parts ...[]byte) error {
	// The multipart body is streamed from the instance's parts, not copied: a 12 MP photo's
	// instance is not held twice.
	b := make([]byte, 12)
	rand.Read(b)
	boundary := "dermal-" + hex.EncodeToString(b)
	head := []byte("--" + boundary + "\r\nContent-Type: application/dicom\r\n\r\n")
	tail := []byte("\r\n--" + boundary + "--\r\n")
	all := append(append([][]byte{head}, parts...), tail)
	body := func() io.Reader {
		rs := make([]io.Reader, len(all))
		for i, p := range all {
			rs[i] = bytes.NewReader(p)
		}
		return io.MultiReader(rs...)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("studies/"+studyUID, nil), body())
	if err != nil {
		return err
	}
	for _, p := range all {
		req.ContentLength += int64(len(p))
	}
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(body()), nil }
	req.Header.Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+boundary)
	req.Header.Set("Accept", "application/dicom+json")
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var reply Dataset
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&reply); err != nil {
		return fmt.Errorf("%w: its answer to the upload was not DICOM JSON: %v", ErrServer, err)
	}
	if failed := reply.Items("00081198"); len(failed) > 0 {
		return fmt.Errorf("%w: it refused instance %s (failure reason %s)", ErrServer, instanceUID, failed[0].String("00081197"))
	}
	for _, it := range reply.Items("00081199") {
		if it.String("00081155") == instanceUID {
			return nil
		}
	}
	return fmt.Errorf("%w: its answer does not list instance %s as stored", ErrServer, instanceUID)
}

// Search is a QIDO-RS query (path "studies", "series", "studies/UID/series", …).
func (c *Client) Search(ctx context.Context, path string, q url.Values) ([]Dataset, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(path, q), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/dicom+json")
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	var out []Dataset
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("%w: its search answer was not DICOM JSON: %v", ErrServer, err)
	}
	return out, nil
}

// Retrieve fetches one instance (WADO-RS) as a DICOM file, its pixels as stored.
func (c *Client) Retrieve(ctx context.Context, study, series, instance string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("studies/"+study+"/series/"+series+"/instances/"+instance, nil), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", `multipart/related; type="application/dicom"; transfer-syntax=*`)
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, fmt.Errorf("%w: the instance came back as %q", ErrServer, resp.Header.Get("Content-Type"))
	}
	part, err := multipart.NewReader(resp.Body, params["boundary"]).NextPart()
	if err != nil {
		return nil, fmt.Errorf("%w: the instance came back empty: %v", ErrServer, err)
	}
	return io.ReadAll(io.LimitReader(part, 512<<20))
}

// Dataset is a DICOM JSON object (PS3.18 F.2): attributes by tag ("0020000D").
type Dataset map[string]struct {
	VR    string            `json:"vr"`
	Value []json.RawMessage `json:"Value"`
}

// String is an attribute's first value as text ("" when absent); a person name's
// alphabetic form.
func (d Dataset) String(tag string) string {
	a, ok := d[tag]
	if !ok || len(a.Value) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(a.Value[0], &s) == nil {
		return s
	}
	var pn struct{ Alphabetic string }
	if json.Unmarshal(a.Value[0], &pn) == nil && pn.Alphabetic != "" {
		return pn.Alphabetic
	}
	var n json.Number
	if json.Unmarshal(a.Value[0], &n) == nil {
		return n.String()
	}
	return ""
}

// Items are a sequence attribute's items.
func (d Dataset) Items(tag string) []Dataset {
	a, ok := d[tag]
	if !ok {
		return nil
	}
	var out []Dataset
	for _, v := range a.Value {
		var it Dataset
		if json.Unmarshal(v, &it) == nil {
			out = append(out, it)
		}
	}
	return out
}
