"""The operator's back-office SOAP API (xsd/tissGatewayBackOffice.xsd,
wsdl/tissGatewayBackOffice.wsdl)."""
