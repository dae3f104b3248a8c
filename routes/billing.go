package routes

import "net/http"

// handleBilling handles POST /billing. Charging is not wired in yet, so
// it answers as a deployment without a Stripe key would.
func (s *Server) handleBilling(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, errorf(http.StatusServiceUnavailable, "billing is not configured"))
}
