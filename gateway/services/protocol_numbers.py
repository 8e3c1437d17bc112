"""How the gateway numbers protocols, and how it reads a number a provider or clerk sends back."""

WIDTH = 12  # numeroProtocolo is st_texto12


def protocol_number(lot_id: int) -> str:
    """Zero-padded to sort as text. From the lot's id, which is unique and has exactly one
    protocol, so that the protocol is written complete in one statement."""
    return f"{lot_id:0{WIDTH}d}"


def as_issued(numero: str) -> str:
    """The number as protocol_number wrote it. Provider systems that keep it as an integer (TISS
    types numeroProtocolo as a number in places) send "42" for "000000000042"."""
    numero = numero.strip()
    if numero.isascii() and numero.isdigit() and len(numero) < WIDTH:
        return numero.zfill(WIDTH)
    return numero
