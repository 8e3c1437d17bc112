"""Use cases. They take plain values (bytes of a message, an authenticated principal) and return
results; they own transactions and business rules and never import spyne or Flask."""
