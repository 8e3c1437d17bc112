"""Credenciamento: a candidate's self-registration, the data it sends before and after the
operator's pre-approval, and the operator's queue of decisions. Plain values in and out, so the
portal and the back-office API call the same use cases."""
