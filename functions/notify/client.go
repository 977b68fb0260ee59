package function

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/config"
)

// Addresses says which addresses webhooks may reach: public ones, and the
// ranges allowed on top (loopback for development, private ranges on
// premises). Link-local (the cloud metadata address 169.254.169.254),
// multicast, unspecified and the other special-purpose ranges are never
// allowed. It checks a URL when it is registered and every connection
// when it is made (a dialer control: a name that resolved to a public
// address at registration may resolve to another one later).
type Addresses struct {
	guard *ssrf.Guardian
}

// Private ranges (RFC 1918, and unique local IPv6 addresses) and loopback.
var (
	privateV4  = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16")}
	privateV6  = []netip.Prefix{netip.MustParsePrefix("fc00::/7")}
	loopbackV4 = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	loopbackV6 = []netip.Prefix{netip.MustParsePrefix("::1/128")}
)

// NewAddresses is the policy of cfg (WEBHOOK_ALLOW_LOOPBACK,
// WEBHOOK_ALLOW_PRIVATE). Any port may be used.
func NewAddresses(cfg config.Webhooks) Addresses {
	var v4, v6 []netip.Prefix
	if cfg.AllowLoopback {
		v4, v6 = append(v4, loopbackV4...), append(v6, loopbackV6...)
	}
	if cfg.AllowPrivate {
		v4, v6 = append(v4, privateV4...), append(v6, privateV6...)
	}
	return Addresses{guard: ssrf.New(ssrf.WithAnyPort(), ssrf.WithAllowedV4Prefixes(v4...), ssrf.WithAllowedV6Prefixes(v6...))}
}

// allowed checks one address. An IPv4 address written as IPv6
// (::ffff:127.0.0.1) is checked as the IPv4 address it is.
func (a Addresses) allowed(ip netip.Addr) error {
	return a.guard.SafeAddr(ip.Unmap())
}

// CheckURL refuses a URL whose host is, or resolves to, an address that
// may not be reached (a 400 naming the url field). A name that does not
// resolve is refused too: it could not be delivered to.
func (a Addresses) CheckURL(ctx context.Context, u *url.URL) error {
	host := u.Hostname()
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil || len(ips) == 0 {
			return apperr.Field("url", "host %q does not resolve to an address", host)
		}
	}
	for _, ip := range ips {
		if a.allowed(ip) == nil {
			continue
		}
		const why = "webhooks reach public addresses only (loopback, private, link-local, multicast and other special-purpose ranges are refused)"
		if ip.Unmap().String() == strings.Trim(host, "[]") {
			return apperr.Field("url", "address %s: %s", host, why)
		}
		return apperr.Field("url", "host %q resolves to %s: %s", host, ip.Unmap(), why)
	}
	return nil
}

// control is the dialer's check of each connection's address, after the
// name was resolved and before anything is sent.
func (a Addresses) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &refusedAddress{address}
	}
	if err := a.allowed(ap.Addr()); err != nil {
		return &refusedAddress{ap.Addr().Unmap().String()}
	}
	return nil
}

// refusedAddress is a connection the address policy refused.
type refusedAddress struct{ addr string }

func (r *refusedAddress) Error() string {
	return "refused to connect to a private, loopback or special-purpose address: " + r.addr
}

// Client returns the HTTP client deliveries are sent with: every
// connection checked by the policy, no proxy (it would be what is
// checked), no redirects followed (a redirect is an answer, and a failure),
// and timeout for the whole attempt, headers and body included.
func (a Addresses) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: min(timeout, 3*time.Second), Control: a.control}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSHandshakeTimeout:    min(timeout, 3*time.Second),
		ResponseHeaderTimeout:  timeout,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        30 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{Transport: transport, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
