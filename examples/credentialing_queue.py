"""The credentialing queue (Portal do Prestador): list the requests, show one with its data,
documents and history, and decide on it. Each decision is recorded with your staff login.

  python examples/credentialing_queue.py list [--status STATUS]
  python examples/credentialing_queue.py show ID [--save DIR]
  python examples/credentialing_queue.py decide ID DECISION [--reason TEXT] [--code CODE]

list without --status shows the requests waiting for the operator (submitted, final_review),
oldest first, and always the count per status. show --save writes every document's file to DIR.
DECISION: aprovar_pre_cadastro (submitted), pedir_complemento (submitted, pre_approved,
final_review; --reason required: the candidate reads it), reprovar (any open status; --reason
required), aprovar_credenciamento (final_review; --code is the codigoPrestadorNaOperadora,
default the code the gateway suggests).
"""

from pathlib import Path

from _backoffice import connect, parser, run

STATUSES = (
    "draft",
    "submitted",
    "complement_requested",
    "pre_approved",
    "final_review",
    "approved",
    "rejected",
)
DECISIONS = ("aprovar_pre_cadastro", "pedir_complemento", "reprovar", "aprovar_credenciamento")


def when(moment) -> str:
    """Answers are in UTC."""
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment is not None else "-"


def list_requests(service, args) -> None:
    answer = service.listarSolicitacoesCredenciamento(situacao=args.status)
    print("por situação:")
    for c in answer.contagem:
        print(f"  {c.quantidade:>5}  {c.situacao:20}  {c.descricaoSituacao}")
    print()
    print(f"{'nº':>6}  {'CPF/CNPJ':14}  {'situação':20}  {'enviada em (UTC)':19}  nome")
    for s in answer.solicitacao:
        print(
            f"{s.idSolicitacao:>6}  {s.cpfCnpj:14}  {s.situacao:20}  {when(s.enviadaEm):19}  "
            f"{s.nome or '-'}"
        )
    print(f"{len(answer.solicitacao)} solicitação(ões)")


def part(value, name: str):
    """A field of an optional part (zeep reads a part with nothing filled in as None)."""
    return getattr(value, name, None) if value is not None else None


def print_request(s) -> None:
    d = s.dadosPrestador
    print(f"solicitação {s.idSolicitacao}: {part(d, 'razaoSocial') or s.login}")
    phase = f" (complemento: {s.faseComplemento})" if s.faseComplemento else ""
    print(f"  situação: {s.situacao} - {s.descricaoSituacao}{phase}")
    print(f"  {s.tipoPessoa} {s.cpfCnpj}  login {s.login}  criada {when(s.criadaEm)} UTC")
    if s.codigoPrestadorNaOperadora:
        print(f"  codigoPrestadorNaOperadora: {s.codigoPrestadorNaOperadora}")
    print(
        f"  fantasia {part(d, 'nomeFantasia') or '-'}  segmento {part(d, 'segmento') or '-'}  "
        f"estabelecimento {part(d, 'tipoEstabelecimento') or '-'}  "
        f"e-mail {part(d, 'email') or '-'}  celular {part(d, 'celular') or '-'}"
    )
    b = s.dadosBancarios
    print(
        f"  banco {part(b, 'banco') or '-'} ag. {part(b, 'agencia') or '-'} "
        f"c/c {part(b, 'conta') or '-'}  regime tributário {s.regimeTributario or '-'}"
    )
    for a in s.endereco:
        print(
            f"  endereço: {a.logradouro}, {a.numero} - {a.municipio}/{a.uf} CEP {a.cep} "
            f"CNES {a.cnes}"
        )
    for c in s.contato:
        print(f"  contato: {c.nome} {c.email} {c.telefone}")
    comp = s.dadosComplementares
    if comp is not None:
        print(
            f"  complexidade {comp.grauComplexidade or '-'}  rede {','.join(comp.rede) or '-'}  "
            f"sim: {','.join(q.codigo for q in comp.questao if q.resposta) or '-'}"
        )
    if s.cidadeAtuacao:
        print(f"  cidades: {', '.join(f'{c.municipio}/{c.uf}' for c in s.cidadeAtuacao)}")
    r = s.responsavelTecnico
    if r is not None:
        print(f"  responsável técnico: {r.nome} {r.conselho} {r.numeroConselho}/{r.ufConselho}")
    print("  documentos:")
    for doc in s.documento:
        print(
            f"    {doc.idDocumento:>6}  {doc.tipoDocumento:22}  {doc.nomeArquivo}  "
            f"({doc.tipoConteudo}, {doc.tamanho} bytes, sha256 {doc.sha256[:16]}…)"
        )
    if s.documentoFaltante:
        print(f"  faltam: {', '.join(s.documentoFaltante)}")
    print("  histórico:")
    for h in s.historico.decisao if s.historico else []:
        reason = f" - {h.motivo}" if h.motivo else ""
        print(f"    {when(h.data)}  {h.acao} -> {h.situacaoNova}  ({h.responsavel}){reason}")
    if s.decisaoPermitida:
        print(f"  decisões possíveis: {', '.join(s.decisaoPermitida)}")
    if s.codigoPrestadorSugerido:
        print(f"  código sugerido: {s.codigoPrestadorSugerido}")


def show(service, args) -> None:
    s = service.obterSolicitacaoCredenciamento(idSolicitacao=args.id)
    print_request(s)
    if args.save:
        folder = Path(args.save)
        folder.mkdir(parents=True, exist_ok=True)
        for doc in s.documento:
            file = service.obterDocumentoCredenciamento(idDocumento=doc.idDocumento)
            target = folder / f"{doc.idDocumento}-{Path(file.nomeArquivo).name}"
            target.write_bytes(file.conteudo)
            print(f"gravado {target} ({len(file.conteudo)} bytes)")


def decide(service, args) -> None:
    s = service.decidirSolicitacaoCredenciamento(
        idSolicitacao=args.id,
        decisao=args.decision,
        motivo=args.reason,
        codigoPrestadorNaOperadora=args.code,
    )
    print(f"decisão registrada: {args.decision}")
    print_request(s)


def main() -> None:
    p = parser(__doc__)
    commands = p.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the queue and the count per status")
    listing.add_argument("--status", choices=STATUSES)
    listing.set_defaults(handler=list_requests)
    one = commands.add_parser("show", help="one request with its data, documents and history")
    one.add_argument("id", type=int)
    one.add_argument("--save", metavar="DIR", help="write every document's file to DIR")
    one.set_defaults(handler=show)
    decision = commands.add_parser("decide", help="record a decision")
    decision.add_argument("id", type=int)
    decision.add_argument("decision", choices=DECISIONS)
    decision.add_argument("--reason", help="shown to the candidate and mailed to it")
    decision.add_argument("--code", help="codigoPrestadorNaOperadora (final approval)")
    decision.set_defaults(handler=decide)
    args = p.parse_args()
    args.handler(connect(args), args)


if __name__ == "__main__":
    run(main)
