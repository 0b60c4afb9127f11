package transport

import (
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RedirectError is a redirect that was not followed because the credential
// would have gone with it. It names only the host: a Location's path and
// query are the server's to choose and may carry anything.
//
// It is an answer from the server, so it implements apierrors.APIStatus
// with the 3xx code: exitcode.Code maps it, like any other non-2xx status,
// to exit code 5, and apierrors.IsNotFound and the like stay false.
type RedirectError struct {
	// StatusCode is the 3xx status of the answer, e.g. 307.
	StatusCode int
	// Host is host[:port] of the redirect's target, the request's own when
	// the Location is relative; empty when the Location could not be parsed.
	Host string
}

// Error says that a redirect was refused, where to, and why.
func (e *RedirectError) Error() string {
	where := "to " + e.Host
	if e.Host == "" {
		where = "to a location that could not be parsed"
	}
	return fmt.Sprintf("the server answered %d %s with a redirect %s, which was refused: the token would be sent there",
		e.StatusCode, http.StatusText(e.StatusCode), where)
}

// Status is the answer as an API status, for apierrors.APIStatus.
func (e *RedirectError) Status() metav1.Status {
	return metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    int32(e.StatusCode),
		Message: e.Error(),
	}
}

// CheckRedirect refuses every redirect with a *RedirectError, for an
// http.Client's CheckRedirect field. A client built from a Harden config
// never gets that far (its transport refuses the answer first); this is for
// clients built otherwise, so that both say the same.
//
// Client.Do then returns the redirect answer, its body closed, together with
// a *url.Error wrapping the *RedirectError.
func CheckRedirect(req *http.Request, _ []*http.Request) error {
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	return &RedirectError{StatusCode: status, Host: req.URL.Host}
}

// redirectOf is the *RedirectError for an answer that net/http would follow
// (client.go, redirectBehavior: 301, 302, 303, 307 and 308 with a
// Location), else nil. Other 3xx answers are harmless: nothing follows them.
func redirectOf(req *http.Request, resp *http.Response) *RedirectError {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil
	}
	location := resp.Header.Get("Location")
	if location == "" {
		return nil
	}
	redirect := &RedirectError{StatusCode: resp.StatusCode}
	if target, err := req.URL.Parse(location); err == nil {
		redirect.Host = target.Host
	}
	return redirect
}
