"""Use case: a provider uploads a TISS XML file (mensagemTISS, ENVIO_LOTE_GUIAS) in the portal.

The file goes through exactly the checks and storage of tissLoteGuias (version, schema, hash in
`epilogo`, destination, lot rules); the logged-in portal user takes the place of
loginSenhaPrestador, so the sender check compares the file's origem with that user's provider.
"""

import uuid
from dataclasses import dataclass, replace

from gateway.services.answers import Answer
from gateway.services.envelope import reject_unreadable
from gateway.services.gateway import Gateway
from gateway.services.inbound import Facts, Inbound, Principal
from gateway.services.lots import LOTE_GUIAS_FILE, receive_lot
from gateway.tiss.friendly import explain_line
from gateway.tiss.xmlsafe import UnsafeXml, parse_untrusted

CHANNEL = "upload"


@dataclass(frozen=True)
class UploadResult:
    answer: Answer
    occurrences: tuple[str, ...]  # every problem found, in words a billing clerk understands

    @property
    def protocol(self) -> str | None:
        return self.answer.protocol

    @property
    def accepted(self) -> bool:
        return self.answer.protocol is not None


def upload_lot_file(
    gw: Gateway,
    data: bytes,
    principal: Principal,
    *,
    remote_addr: str | None = None,
    request_id: str | None = None,
    file_name: str | None = None,
) -> UploadResult:
    inbound = _inbound(data, remote_addr, request_id, file_name)
    try:
        parsed = parse_untrusted(data, gw.settings.xml_limits)
    except UnsafeXml as exc:
        return _unreadable(gw, inbound, principal, exc.reason)
    inbound = replace(inbound, declared_charset=parsed.declared_encoding)
    answer = receive_lot(gw, inbound, parsed.root, principal, spec=LOTE_GUIAS_FILE)
    return UploadResult(answer, occurrences(answer))


def refuse_oversized_file(
    gw: Gateway,
    size: int,
    principal: Principal,
    *,
    remote_addr: str | None = None,
    request_id: str | None = None,
    file_name: str | None = None,
) -> UploadResult:
    """A file above TISS_MAX_MESSAGE_BYTES, refused as the web service refuses such a message
    (5002, archived with its size and not its bytes), so that it is listed in Consultar Arquivos
    like every other file sent."""
    inbound = replace(_inbound(b"", remote_addr, request_id, file_name), unread_size=size)
    limit = gw.settings.max_message_bytes
    reason = f"arquivo de {size} bytes acima do limite de {limit} bytes"
    return _unreadable(gw, inbound, principal, reason)


def _inbound(
    data: bytes, remote_addr: str | None, request_id: str | None, file_name: str | None
) -> Inbound:
    return Inbound(
        raw=data,
        channel=CHANNEL,
        request_id=request_id or uuid.uuid4().hex,
        remote_addr=remote_addr,
        file_name=clean_file_name(file_name),
    )


def _unreadable(gw: Gateway, inbound: Inbound, principal: Principal, reason: str) -> UploadResult:
    """A file that never reached the use case: archived as refused (5002), for its provider."""
    known = Facts(provider_id=principal.provider_id, login=principal.login)
    answer = reject_unreadable(gw, LOTE_GUIAS_FILE, inbound, reason, known)
    return UploadResult(answer, (answer.fault_string,))


_MAX_NAME = 200


def clean_file_name(name: str | None) -> str | None:
    """The base name a browser sent, without folders or control characters, at most 200
    characters: a longer name loses the end of its stem, never its extension."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable()).strip()
    if len(base) > _MAX_NAME:
        stem, dot, extension = base.rpartition(".")
        if dot and stem and len(extension) <= 10:
            return stem[: _MAX_NAME - len(extension) - 1] + dot + extension
    return base[:_MAX_NAME] or None


def occurrences(answer: Answer) -> tuple[str, ...]:
    """What to show the person who sent the file when it was not accepted."""
    if answer.protocol is not None:
        return ()
    # Faults and body errors (mensagemErro) both carry a code and its description.
    # A schema fault's text quotes libxml2's first error in English; each error follows below,
    # explained in Portuguese, so the first line keeps only the count.
    found = [answer.fault_string.partition("; primeiro: ")[0]]
    found += [explain_line(line) for line in answer.details if line.startswith("linha ")]
    return tuple(found)
