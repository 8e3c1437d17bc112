"""Pure TISS logic: versions, schemas, hardened parsing, hash, codes and answer builders.

Nothing here knows about HTTP, SOAP frameworks or databases, so another project can reuse it.
"""
