"""tiss-gateway: receives ANS TISS messages over SOAP for a health-insurance operator."""
