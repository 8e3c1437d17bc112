"""The SOAP adapter: spyne handles envelopes, dispatch and faults; TISS work is the services'."""
