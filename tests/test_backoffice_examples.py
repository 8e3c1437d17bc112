"""The scripts in examples/ run as the operator runs them: separate processes, configured by
the environment, talking zeep to a live gateway over HTTP. Each must succeed and print what it
did; what they change is then checked in the database."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import models
from tests.backoffice_client import STAFF, force_status, send_lot, stored_protocol
from tests.conftest import PROVIDER_A

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def run(server_url, staff, tmp_path):
    def run(script: str, *args: str, auth: str = "wsse", expect: int = 0) -> str:
        env = dict(os.environ)
        env.update(
            TISS_GATEWAY_URL=server_url,
            TISS_STAFF_LOGIN=STAFF.login,
            TISS_STAFF_PASSWORD=STAFF.password,
            TISS_STAFF_AUTH=auth,
        )
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / script), *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == expect, (done.stdout, done.stderr)
        return done.stdout + done.stderr

    return run


def test_list_and_fetch_messages(gw, client, run, tmp_path):
    numero = send_lot(client, PROVIDER_A, "EX1")
    with gw.db.reading() as s:
        message = s.scalar(select(models.Message))

    out = run(
        "list_messages.py",
        "--since",
        "2020-01-01",
        "--provider",
        PROVIDER_A.code,
        "--page-size",
        "1",
        auth="basic",
    )
    assert f"{message.id:>8}" in out and numero in out and "1 mensagem(ns)" in out

    out = run("fetch_message.py", str(message.id), "--save", str(tmp_path / "saved"))
    assert f"mensagem {message.id}: tissLoteGuias via soap" in out
    assert "loteGuiasWS" in out and "protocoloRecebimentoWS" in out
    assert "JOSÉ" in out  # decoded from ISO-8859-1 as declared
    assert "autenticado por password" in out
    assert (tmp_path / "saved" / f"{message.id}-request.xml").read_bytes() == message.raw_request
    assert (tmp_path / "saved" / f"{message.id}-response.xml").read_bytes() == (
        message.raw_response
    )


def test_move_analyse_and_pay(gw, client, run, tmp_path):
    numero = send_lot(client, PROVIDER_A, "EX2")

    out = run("move_protocol.py", numero, "2", "--reason", "em conferência")
    assert "situação: 2 - Em análise" in out and "em conferência" in out

    analysis = tmp_path / "analysis.json"
    analysis.write_text(
        json.dumps(
            {
                "guia": [
                    {
                        "numeroGuiaPrestador": "G000001",
                        "glosa": [{"codigoGlosa": "1705", "valor": 5.00}],
                        "item": [
                            {
                                "sequencialItem": 1,
                                "glosa": [{"codigoGlosa": "1801", "valor": 20.10}],
                            }
                        ],
                    },
                ]
            }
        )
    )
    out = run("record_analysis.py", numero, str(analysis), "--reason", "auditoria")
    assert "situação: 5 - Analisado e aguardando liberação para pagamento" in out
    assert "item 1: 1801 20,10" in out
    first = stored_protocol(gw, numero).lot.guides[0]
    assert str(first.valor_liberado) == "124.90"

    payment = tmp_path / "payment.json"
    payment.write_text(
        json.dumps(
            {
                "codigoPrestador": PROVIDER_A.code,
                "dataPagamento": "2026-12-10",
                "competencia": "202612",
                "formaPagamento": "1",
                "banco": "001",
                "agencia": "1234",
                "conta": "98765-4",
                "protocolo": [{"numeroProtocolo": numero}],
                "debitoCredito": [
                    {
                        "indicador": "1",
                        "tipoDebitoCredito": "01",
                        "descricao": "IRRF",
                        "valor": 4.90,
                    }
                ],
            }
        )
    )
    out = run("record_payment.py", str(payment), auth="basic")
    assert "competência 12/2026" in out
    assert "bruto          274,90" in out and "líquido        270,00" in out
    assert stored_protocol(gw, numero).status == 6


def test_a_refusal_exits_1_with_the_gateways_message(gw, client, run):
    numero = send_lot(client, PROVIDER_A, "EX3")
    force_status(gw, numero, 9)
    out = run("move_protocol.py", numero, "2", expect=1)
    assert "recusado (OperacaoNaoPermitida)" in out
    assert "transição de 9 (Cancelado) para 2 (Em análise) não permitida" in out


def test_load_beneficiaries(gw, run, tmp_path):
    csv = tmp_path / "beneficiarios.csv"
    csv.write_text(
        "numero_carteira,nome,plano,situacao,data_adesao,data_desligamento,validade_carteira\n"
        "00012345678901,Maria da Conceição,Plano Ouro,ativo,2020-01-01,,2027-12-31\n"
        "00012345678902,João Lima,Plano Prata,cancelado,2021-01-01,2025-01-31,\n"
        "00012345678903,Ana Rocha,Plano Prata,suspenso,2022-01-01,,\n",
        encoding="utf-8",
    )
    out = run("load_beneficiaries.py", str(csv), "--batch", "2")
    assert "3 beneficiário(s) carregado(s)" in out
    with gw.db.reading() as s:
        rows = {b.numero_carteira: b.status for b in s.scalars(select(models.Beneficiary))}
    assert rows == {
        "00012345678901": "ativo",
        "00012345678902": "cancelado",
        "00012345678903": "suspenso",
    }


def test_wrong_password_exits_1(gw, run, server_url):
    env = dict(
        os.environ,
        TISS_GATEWAY_URL=server_url,
        TISS_STAFF_LOGIN=STAFF.login,
        TISS_STAFF_PASSWORD="Errada@2026",
    )
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "list_messages.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "recusado (AutenticacaoInvalida): login ou senha inválidos" in done.stderr


def test_credentialing_queue(gw, run, tmp_path):
    from tests import portal_support as ps

    staff_id = ps.account_id(gw, STAFF.login)
    account = ps.candidate_in_final_review(gw, staff_id)
    request_id = ps.request_of(gw, account)

    out = run("credentialing_queue.py", "list")
    assert f"{request_id:>6}  {ps.CANDIDATE_CNPJ}  final_review" in out
    assert "Clínica Exemplo Ltda" in out and "1 solicitação(ões)" in out

    out = run("credentialing_queue.py", "show", str(request_id), "--save", str(tmp_path / "docs"))
    assert f"solicitação {request_id}: Clínica Exemplo Ltda" in out
    assert "situação: final_review - Aguardando aprovação final" in out
    assert "responsável técnico: Dr. João Lima CRM 123456/DF" in out
    assert f"aprovar_pre_cadastro -> pre_approved  ({STAFF.login}) - Envie os documentos." in out
    assert f"código sugerido: CRD{request_id:06d}" in out
    saved = sorted((tmp_path / "docs").iterdir())
    assert len(saved) == 4 and all(f.read_bytes() == ps.PDF for f in saved)

    out = run("credentialing_queue.py", "decide", str(request_id), "reprovar", expect=1)
    assert "recusado (RequisicaoInvalida): motivo: Escreva o motivo" in out

    out = run(
        "credentialing_queue.py",
        "decide",
        str(request_id),
        "aprovar_credenciamento",
        "--code",
        "CLIN0042",
        "--reason",
        "Bem-vindo à rede.",
        auth="basic",
    )
    assert "decisão registrada: aprovar_credenciamento" in out
    assert "codigoPrestadorNaOperadora: CLIN0042" in out
    with gw.db.reading() as s:
        code = s.scalar(
            select(models.Provider.codigo_na_operadora).where(
                models.Provider.cnpj == ps.CANDIDATE_CNPJ
            )
        )
    assert code == "CLIN0042"


def test_load_beneficiaries_reads_semicolons_as_the_cli_import_does(gw, run, tmp_path):
    csv = tmp_path / "planilha.csv"
    csv.write_text(
        "numero_carteira;nome;plano;situacao;data_adesao\n"
        "00012345678911;Maria da Conceição;Plano Ouro;ativo;2020-01-01\n",
        encoding="utf-8",
    )
    assert "1 beneficiário(s) carregado(s)" in run("load_beneficiaries.py", str(csv))
    with gw.db.reading() as s:
        assert s.scalar(select(models.Beneficiary.name)) == "Maria da Conceição"


def test_load_beneficiaries_names_the_missing_columns_and_exits_1(gw, run, tmp_path):
    csv = tmp_path / "errado.csv"
    csv.write_text("carteira,nome\n00012345678911,Maria\n", encoding="utf-8")
    out = run("load_beneficiaries.py", str(csv), expect=1)
    assert "faltam as colunas numero_carteira, plano, situacao, data_adesao" in out
