package admission

import (
	"net/http"

	"github.com/gatehouse-go/gatehouse/internal/problem"
)

// refuseCrossOrigin wraps h, the room's JSON API, so that a state-changing
// request (any method but GET, HEAD and OPTIONS: join and done) that a
// browser sent from another origin is refused with 403 problem+json before
// h sees it. A page on another site could otherwise make the person's
// browser join the room or end their place (done is final) with the
// person's cookies. The check is net/http's CrossOriginProtection:
// Sec-Fetch-Site when the browser sends it, else Origin against Host;
// requests with neither (API clients, not browsers) pass.
func (r *Room) refuseCrossOrigin(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		problem.Write(w, problem.Problem{
			Status:     http.StatusForbidden,
			Title:      "Cross-origin request refused",
			Detail:     "This request came from another site; nothing was changed.",
			Instance:   req.URL.Path,
			Extensions: map[string]any{"room": r.o.Name},
		}, 0)
	}))
	return cop.Handler(h)
}
