"""Use cases of the provider web area (Portal do Prestador, seed 004): who may act for which
provider, the files sent, protocols, statements, eligibility and registration data. Plain values
in and out; the SOAP services and these pages call the same functions underneath."""
