"""Messages that never became readable TISS: not XML, hostile XML, no SOAP Body."""

from gateway.services.answers import Answer, record_rejection
from gateway.services.gateway import Gateway
from gateway.services.inbound import Facts, Inbound, Rejected, ServiceSpec
from gateway.tiss import codes
from gateway.tiss.codes import FaultKind


def reject_unreadable(
    gw: Gateway,
    spec: ServiceSpec,
    inbound: Inbound,
    reason: str,
    facts: Facts | None = None,
    faultcode: str | None = None,
) -> Answer:
    """Archive the bytes as received and answer SchemaInvalido with 5002. `facts` carries what
    is known anyway (the portal knows the provider of an upload); `faultcode` is SOAP's own for
    a refusal of the envelope (gateway.tiss.soap.envelope_refusal)."""
    rejection = Rejected(
        FaultKind.SCHEMA_INVALIDO,
        codes.XML_NOT_VALIDATED,
        f"{codes.describe(codes.XML_NOT_VALIDATED)}: {reason}",
        faultcode=faultcode,
    )
    return record_rejection(gw, spec, inbound, facts or Facts(), rejection, gw.utcnow())
