package admission

import (
	"net/http"

	"github.com/gatehouse-go/gatehouse/window/problem"
)

// refuseCrossOrigin wraps h, the room's JSON API, so that a state-changing
// request (any method but GET, HEAD and OPTIONS: join and done) that a
// browser sent from another origin is refused with 403 problem+json before
// h sees it. A page on another site could otherwise make the person's
// browser join the room or end their place (done is final) with the
// person's cookies. The check is net/http's CrossOriginProtection:
// Sec-Fetch-Site when the browser sends it, else Origin against Host;
// requests with neither (API clients, not browsers) pass. The refusal goes
// through Options.Deny like the room's others (code cross_origin).
func (r *Room) refuseCrossOrigin(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.deny(w, req, http.StatusForbidden, problem.CodeCrossOrigin, "Cross-origin request refused",
			"This request came from another site; nothing was changed.", nil)
	}))
	return cop.Handler(h)
}
