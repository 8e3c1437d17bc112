"""Show one archived message: its facts, the raw request and the raw answer, decoded with the
charset each declared; --save writes the exact bytes to files.

  python examples/fetch_message.py ID [--save DIR]
"""

from pathlib import Path

from _backoffice import connect, parser, run


def main() -> None:
    p = parser(__doc__)
    p.add_argument("id", type=int, help="id of the message (see list_messages.py)")
    p.add_argument("--save", metavar="DIR", help="write ID-request.xml and ID-response.xml")
    args = p.parse_args()
    answer = connect(args).obterMensagem(id=args.id)
    m = answer.mensagem

    received = f"{m.recebidaEm:%Y-%m-%d %H:%M:%S %Z}"
    print(f"mensagem {m.id}: {m.servico} via {m.canal}, recebida em {received}")
    print(
        f"  versão {m.versao or '-'}  prestador {m.codigoPrestador or '-'}  login "
        f"{answer.login or '-'}  de {answer.enderecoRemoto or '-'}"
    )
    print(
        f"  resultado {m.resultado}  códigos {','.join(m.codigoGlosa) or '-'}  falha "
        f"{answer.falha or '-'}  protocolo {m.numeroProtocolo or '-'}"
    )
    # No SHA-256 for a request refused unread (above the size limit).
    print(f"  request id {m.requestId}  SHA-256 {answer.sha256Requisicao or '-'}")
    if answer.metodoAutenticacao:
        certificate = answer.sha256CertificadoCliente
        print(
            f"  autenticado por {answer.metodoAutenticacao}"
            + (f"  certificado do cliente SHA-256 {certificate}" if certificate else "")
        )
    if answer.detalhe:
        print(f"  detalhe: {answer.detalhe}")
    for label, data, charset in (
        ("requisição", answer.requisicao, answer.charsetRequisicao),
        ("resposta", answer.resposta, answer.charsetResposta),
    ):
        if data is None:
            print(f"--- {label}: nenhuma")
            continue
        print(f"--- {label} ({len(data)} bytes, {charset or 'charset não declarado'})")
        print(data.decode(charset or "utf-8", errors="replace"))
    if args.save:
        folder = Path(args.save)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{m.id}-request.xml").write_bytes(answer.requisicao)
        if answer.resposta is not None:
            (folder / f"{m.id}-response.xml").write_bytes(answer.resposta)
        print(f"bytes gravados em {folder}")


if __name__ == "__main__":
    run(main)
