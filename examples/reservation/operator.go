package main

import (
	"net/http"
	"strconv"
	"time"
)

// operatorTTL is how long the operator console's cookie lasts.
const operatorTTL = 8 * time.Hour

func (s *server) operatorSignInPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "operator_signin", view{Title: "Operator sign-in"})
}

// operatorSignIn checks the token and, if valid, keeps it in an HttpOnly
// cookie that the gate verifies on every request.
func (s *server) operatorSignIn(w http.ResponseWriter, r *http.Request) {
	now := s.clk.Now()
	if s.overLimit(w, r, now) {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.badBody(w, r, err)
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" || !s.verifyOperatorToken(tok, now) {
		s.render(w, r, http.StatusUnauthorized, "operator_signin", view{Title: "Operator sign-in",
			Errors: []fieldError{{Field: "token", Message: "is not a valid operator token"}}})
		return
	}
	s.setCookie(w, r, operatorCookie, tok, operatorTTL)
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

func (s *server) operatorSignOut(w http.ResponseWriter, r *http.Request) {
	s.clearCookie(w, r, operatorCookie)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *server) operatorMaintenance(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badBody(w, r, err)
		return
	}
	on, err := strconv.ParseBool(r.PostForm.Get("on"))
	if err != nil {
		s.invalid(w, r, []fieldError{{Field: "on", Message: "must be true or false"}})
		return
	}
	if err := s.setMaintenance(r.Context(), on); err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "Store unavailable", "The maintenance switch could not be changed: "+err.Error(), 5*time.Second)
		return
	}
	s.log.Info("maintenance switched", "on", on)
	if !wantsHTML(r) {
		writeJSON(w, http.StatusOK, map[string]bool{"maintenance": on})
		return
	}
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

// namedValue is one figure on the console.
type namedValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// slotFigures is one slot's line on the console.
type slotFigures struct {
	ID       string `json:"id"`
	Label    string `json:"label"`
	Capacity int    `json:"capacity"`
	Booked   int    `json:"booked"`
	Held     int    `json:"held"`
	Left     int    `json:"left"`
}

type operatorView struct {
	Maintenance bool          `json:"maintenance"`
	Phase       string        `json:"phase"`
	Room        []namedValue  `json:"room"`
	Slots       []slotFigures `json:"slots"`
}

func (s *server) operatorFigures(r *http.Request) operatorView {
	now := s.clk.Now()
	phase, _ := s.phase(now)
	v := operatorView{Maintenance: s.maintenanceOn(r.Context()), Phase: phase.String()}
	v.Room = s.roomFigures(r.Context(), now)
	v.Slots = s.slotFigures(r.Context(), now)
	return v
}

func (s *server) operatorPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "operator", view{Title: "Operator console", Data: s.operatorFigures(r)})
}

func (s *server) apiOperatorStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.operatorFigures(r))
}
