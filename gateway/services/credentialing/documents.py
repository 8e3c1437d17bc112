"""Documents the candidate uploads one by one, each with its type. Only PDF, JPEG and PNG, told
by their first bytes (never by the name or the browser's claim), up to a size limit. Kept in the
database with their SHA-256, checked again on every download."""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

import filetype
from sqlalchemy import select

from gateway.forms import size_text
from gateway.services.credentialing import catalog, records
from gateway.services.validation import invalid
from storage.db import Database
from storage.models import Account
from storage.portal_models import CredentialingDocument, CredentialingRequest

MAX_DOCUMENTS = 60


@dataclass(frozen=True)
class DocumentFile:
    file_name: str
    content_type: str
    content: bytes
    doc_type: str
    sha256: str


def detect(content: bytes) -> str | None:
    """The content type from the magic bytes, if it is one the operator accepts."""
    kind = filetype.guess(content[:8192])
    mime = kind.mime if kind is not None else None
    return mime if mime in catalog.ALLOWED_CONTENT else None


def clean_name(name: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f\"<>]", "", base).strip() or "documento"
    return base[-200:]


def upload(
    db: Database,
    account_id: int,
    doc_type: str,
    file_name: str,
    content: bytes,
    max_bytes: int,
    now: datetime,
) -> int:
    if doc_type not in catalog.DOCUMENT_TYPES:
        raise invalid("doc_type", "Escolha o tipo do documento.")
    if not content:
        raise invalid("file", "Escolha o arquivo a enviar.")
    if len(content) > max_bytes:
        raise invalid("file", f"O arquivo passa do limite de {size_text(max_bytes)}.")
    content_type = detect(content)
    if content_type is None:
        raise invalid("file", "Envie o documento em PDF, JPEG ou PNG.")
    with db.transaction() as session:
        row = records.own_request(session, account_id, lock=True)
        records.require_final(row)
        if len(row.documents) >= MAX_DOCUMENTS:
            raise invalid("file", f"No máximo {MAX_DOCUMENTS} documentos por solicitação.")
        document = CredentialingDocument(
            doc_type=doc_type,
            file_name=clean_name(file_name),
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            uploaded_at=now,
            uploaded_by=account_id,
        )
        row.documents.append(document)
        row.updated_at = now
        session.flush()
        return document.id


def remove(db: Database, account_id: int, document_id: int, now: datetime) -> None:
    with db.transaction() as session:
        row = records.own_request(session, account_id, lock=True)
        records.require_final(row)
        row.documents[:] = [d for d in row.documents if d.id != document_id]
        row.updated_at = now


def fetch(db: Database, viewer_id: int, document_id: int) -> DocumentFile:
    """A document for its candidate or for operator staff; the same refusal for anyone else
    as for a document that does not exist."""
    with db.reading() as session:
        found = session.execute(
            select(CredentialingDocument, CredentialingRequest.account_id)
            .join(CredentialingRequest, CredentialingRequest.id == CredentialingDocument.request_id)
            .where(CredentialingDocument.id == document_id)
        ).first()
        viewer = session.get(Account, viewer_id)
        if found is None or viewer is None:
            raise records.NotFound("document", "Documento não encontrado.")
        document, owner = found
        if viewer.kind != "staff" and viewer.id != owner:
            raise records.NotFound("document", "Documento não encontrado.")
        content = document.content
        if hashlib.sha256(content).hexdigest() != document.sha256:
            raise RuntimeError(f"document {document.id}: content does not match its SHA-256")
        return DocumentFile(
            document.file_name, document.content_type, content, document.doc_type, document.sha256
        )
