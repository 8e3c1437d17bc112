"""Início: the notices a provider should see first (seed 004, 1: "avisos relevantes")."""

from dataclasses import dataclass

from sqlalchemy import func, select

from gateway.services.backoffice.transitions import AGUARDANDO_INFORMACAO
from gateway.services.provider_area.files import list_files
from storage.db import Database
from storage.models import Protocol
from storage.typed_models import TypedProtocol

RECENT = 5


@dataclass(frozen=True)
class Notices:
    waiting_information: tuple[str, ...]  # protocols the operator needs something for (8)
    recent_files: tuple  # the last few FileRow
    typing: int  # protocols being typed or finished and not sent


def notices(db: Database, provider_id: int) -> Notices:
    with db.reading() as session:
        waiting = session.scalars(
            select(Protocol.numero)
            .where(Protocol.provider_id == provider_id, Protocol.status == AGUARDANDO_INFORMACAO)
            .order_by(Protocol.id.desc())
            .limit(20)
        ).all()
        typing = session.scalar(
            select(func.count())
            .select_from(TypedProtocol)
            .where(TypedProtocol.provider_id == provider_id, TypedProtocol.status != "sent")
        )
    recent = list_files(db, provider_id, 1).items[:RECENT]
    return Notices(tuple(waiting), recent, typing or 0)
