"""Official schema sets (gateway.tiss.schemas) and the answers the gateway builds
(gateway.tiss.responses), checked against the official ANS files in ../shared/tiss."""

import hashlib
import shutil
import threading
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from gateway.tiss import responses, samples, schemas
from gateway.tiss.codes import FaultKind, describe
from gateway.tiss.header import REGISTRO_ANS, Party
from gateway.tiss.lote import Guide, read_lot
from gateway.tiss.namespaces import ANS, NSMAP, q, version_file_tag
from gateway.tiss.schemas import (
    BUILTIN_SHA256,
    ORIGIN_IMPORTED,
    ORIGIN_PACKAGE,
    SchemaError,
    SchemaRegistry,
    SchemaSet,
    SchemaSetError,
    builtin_sets,
    expected_file_names,
    package_schema_dir,
    version_of_files,
)
from gateway.tiss.status import situacao_protocolo
from gateway.tiss.views import GlosaView, GuideView, ProtocolView
from gateway.tiss.xmlsafe import parse_untrusted

SHARED_TISS = Path(__file__).resolve().parents[2] / "shared" / "tiss"
OFFICIAL = SHARED_TISS / "schemas"
VERSIONS = ["4.02.00", "4.03.00"]
REGISTRO = "123456"
WHEN = datetime(2026, 11, 21, 10, 31, 5)


def md5_iso(text: str) -> str:
    return hashlib.md5(text.encode("iso-8859-1")).hexdigest()


@pytest.fixture(scope="module")
def builtin() -> dict[str, SchemaSet]:
    return {s.version: s for s in builtin_sets()}


@pytest.fixture(scope="module")
def official_ws() -> dict[str, etree.XMLSchema]:
    """The official tissWebServices schema of each version, compiled straight from the ANS
    files (not through the gateway), to judge the gateway's answers independently."""
    assert OFFICIAL.is_dir(), f"official TISS schemas expected in {OFFICIAL}"
    parser = etree.XMLParser(no_network=True, load_dtd=True, resolve_entities=True)
    compiled = {}
    for version in VERSIONS:
        tag = "V" + version.replace(".", "_")  # spelled here, not by the gateway
        path = OFFICIAL / version / f"tissWebServices{tag}.xsd"
        compiled[version] = etree.XMLSchema(etree.parse(str(path), parser))
    return compiled


def sample_lot(version="4.03.00", guide_type="guiaConsulta", n=2, **kw) -> samples.SampleLot:
    kw.setdefault("origem", Party("CNPJ", "12345678000195"))
    return samples.SampleLot(
        REGISTRO,
        numero_lote="L1",
        guides=samples.guides(n),
        guide_type=guide_type,
        version=version,
        **kw,
    )


def reparse(element: etree._Element) -> etree._Element:
    """Serialize pretty-printed and parse back, so that elements have real line numbers."""
    return parse_untrusted(etree.tostring(element, pretty_print=True, encoding="UTF-8")).root


def answer_header(version: str, destino: Party | None = None) -> responses.AnswerHeader:
    return responses.AnswerHeader(
        tipo_transacao="PROTOCOLO_RECEBIMENTO",
        sequencial="9001",
        when=WHEN,
        registro_ans=REGISTRO,
        destino=destino,
        version=version,
    )


def leaf_text_excluding_hash(message: etree._Element) -> str:
    out = []
    for child in message:
        if etree.QName(child).localname in ("hash", "Signature"):
            continue
        for el in child.iter():
            if len(el) == 0:
                out.append(el.text or "")
    return "".join(out)


# ------------------------------------------------------------------------------ builtin sets


def test_builtin_sets_are_the_two_versions_in_force():
    sets = builtin_sets()
    assert sorted(s.version for s in sets) == VERSIONS
    assert all(s.origin == ORIGIN_PACKAGE for s in sets)
    for s in sets:
        assert s.directory == package_schema_dir(s.version)
        assert sorted(s.sha256) == sorted(expected_file_names(s.version))


@pytest.mark.parametrize("version", VERSIONS)
def test_builtin_sets_verify_and_compile(builtin, version):
    s = builtin[version]
    s.verify()
    s.compile()
    assert s.webservices_file == f"tissWebServices{version_file_tag(version)}.xsd"
    assert s.message_file == f"tiss{version_file_tag(version)}.xsd"


def test_builtin_4_03_digests_are_those_of_the_official_ans_files():
    # ../shared/tiss/schemas/4.03.00 is byte-identical to the ANS zip package.
    for name, digest in BUILTIN_SHA256["4.03.00"].items():
        assert hashlib.sha256((OFFICIAL / "4.03.00" / name).read_bytes()).hexdigest() == digest


def test_builtin_4_02_files_have_the_official_content():
    # ../shared has 4.02.00 with LF line endings; the package keeps the ANS CRLF bytes.
    pkg = package_schema_dir("4.02.00")
    for name, digest in BUILTIN_SHA256["4.02.00"].items():
        raw = (pkg / name).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == digest
        assert raw.replace(b"\r\n", b"\n") == (OFFICIAL / "4.02.00" / name).read_bytes()


def test_shared_files_are_pinned_identically_in_both_versions():
    for name in schemas.SHARED_FILES:
        assert BUILTIN_SHA256["4.02.00"][name] == BUILTIN_SHA256["4.03.00"][name]


# --------------------------------------------------------------------------- tampered copies


def copied_set(tmp_path: Path, version: str = "4.03.00") -> SchemaSet:
    target = tmp_path / version
    shutil.copytree(package_schema_dir(version), target)
    return SchemaSet(version, ORIGIN_IMPORTED, target, dict(BUILTIN_SHA256[version]))


def test_an_untouched_copy_verifies(tmp_path):
    copied_set(tmp_path).verify()


@pytest.mark.parametrize("name", expected_file_names("4.03.00"))
def test_one_byte_changed_is_refused(tmp_path, name):
    s = copied_set(tmp_path)
    path = s.directory / name
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle] = data[middle] ^ 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(SchemaSetError, match=name.replace(".", r"\.")):
        s.verify()
    registry = SchemaRegistry()
    with pytest.raises(SchemaSetError):
        registry.add(s)
    assert registry.get("4.03.00") is None and registry.versions() == []


def test_a_missing_file_is_refused(tmp_path):
    s = copied_set(tmp_path)
    (s.directory / "tissGuiasV4_03_00.xsd").unlink()
    with pytest.raises(SchemaSetError, match="missing"):
        s.verify()


def test_a_directory_in_place_of_a_file_is_refused(tmp_path):
    s = copied_set(tmp_path)
    (s.directory / "xmldsig-core-schema.xsd").unlink()
    (s.directory / "xmldsig-core-schema.xsd").mkdir()
    with pytest.raises(SchemaSetError):
        s.verify()


def test_a_set_that_verifies_but_does_not_compile_is_refused(tmp_path):
    s = copied_set(tmp_path)
    broken = s.directory / s.webservices_file
    broken.write_bytes(b"<schema xmlns='http://www.w3.org/2001/XMLSchema'><element/>")
    s.sha256[s.webservices_file] = hashlib.sha256(broken.read_bytes()).hexdigest()
    s.verify()
    with pytest.raises(SchemaSetError, match="does not compile"):
        s.compile()


def test_registry_keeps_verified_sets_by_version(builtin):
    registry = SchemaRegistry()
    for s in builtin.values():
        registry.add(s)
    assert registry.versions() == VERSIONS
    assert [s.version for s in registry] == VERSIONS
    assert registry.get("4.03.00") is builtin["4.03.00"]
    assert registry.get("4.01.00") is None


# ------------------------------------------------------------------------------- file names


@pytest.mark.parametrize("version", ["3.05.00", "4.01.00", "4.02.00", "4.03.00"])
def test_expected_file_names_match_the_official_packages(version):
    names = expected_file_names(version)
    assert len(names) == 7 and len(set(names)) == 7
    assert sorted(names) == sorted(p.name for p in (OFFICIAL / version).iterdir())
    assert version_of_files(names) == version


def test_expected_file_names_spelling():
    assert expected_file_names("4.03.00") == [
        "tissV4_03_00.xsd",
        "tissWebServicesV4_03_00.xsd",
        "tissComplexTypesV4_03_00.xsd",
        "tissSimpleTypesV4_03_00.xsd",
        "tissGuiasV4_03_00.xsd",
        "tissAssinaturaDigital_v1.01.xsd",
        "xmldsig-core-schema.xsd",
    ]


def test_version_of_files():
    assert version_of_files(["tissV4_01_00.xsd"]) == "4.01.00"
    assert version_of_files(["xmldsig-core-schema.xsd", "tissGuiasV3_05_00.xsd"]) == "3.05.00"
    assert version_of_files(["readme.txt", "tissSimpleTypesV4_02_00.xsd"]) == "4.02.00"
    with pytest.raises(SchemaSetError):
        version_of_files(["tissV4_02_00.xsd", "tissV4_03_00.xsd"])
    with pytest.raises(SchemaSetError):
        version_of_files(["tissAssinaturaDigital_v1.01.xsd", "xmldsig-core-schema.xsd"])
    with pytest.raises(SchemaSetError):
        version_of_files([])
    with pytest.raises(SchemaSetError):
        version_of_files(["tissFooV4_03_00.xsd", "tissV4_03_00.xsd.bak"])


# -------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("guide_type", ["guiaConsulta", "guiaSP-SADT"])
def test_samples_validate_clean(builtin, version, guide_type):
    lot = sample_lot(version, guide_type, n=3, login="hospital", senha_md5="0" * 32)
    assert builtin[version].validate(samples.lote_guias_ws(lot)) == []
    assert builtin[version].validate(samples.mensagem_tiss(lot)) == []


def test_validate_reports_every_error_not_just_the_first(builtin):
    ws = samples.lote_guias_ws(sample_lot("4.03.00", "guiaConsulta", n=3))
    guides = ws.findall(f"{q('loteGuias')}/{q('guiasTISS')}/{q('guiaConsulta')}")
    guides[0].find(f"{q('dadosBeneficiario')}/{q('numeroCarteira')}").text = "9" * 21
    guides[2].find(f"{q('dadosAtendimento')}/{q('dataAtendimento')}").text = "2026-13-45"
    ws = reparse(ws)
    carteira = ws.findall(f".//{q('numeroCarteira')}")[0]
    data = ws.findall(f".//{q('dataAtendimento')}")[2]

    errors = builtin["4.03.00"].validate(ws)
    assert len(errors) >= 2
    assert all(isinstance(e, SchemaError) for e in errors)
    lines = {e.line for e in errors}
    assert carteira.sourceline in lines and data.sourceline in lines
    text = "\n".join(str(e) for e in errors)
    assert "numeroCarteira" in text and "dataAtendimento" in text
    assert f"linha {carteira.sourceline}:" in text


def test_validate_reports_errors_in_mensagem_tiss_too(builtin):
    msg = samples.mensagem_tiss(sample_lot("4.02.00", "guiaSP-SADT"))
    msg.find(f".//{q('valorTotalGeral')}").text = "muito"
    msg.findall(f".//{q('numeroGuiaPrestador')}")[-1].text = ""
    errors = builtin["4.02.00"].validate(msg)
    text = " ".join(e.message for e in errors)
    assert len(errors) >= 2 and "valorTotalGeral" in text and "numeroGuiaPrestador" in text


def test_validate_keeps_no_state_between_calls(builtin):
    s = builtin["4.03.00"]
    bad = samples.lote_guias_ws(sample_lot())
    bad.find(f".//{q('numeroCarteira')}").text = "x" * 30
    assert s.validate(bad)
    assert s.validate(samples.lote_guias_ws(sample_lot())) == []
    assert s.validate(bad)


def test_each_version_validates_with_its_own_schemas(builtin):
    # 4.03.00 accepts alphanumeric CNPJ; 4.02.00 does not.
    cnpj = "12ABC34501DE35"
    new = samples.lote_guias_ws(sample_lot("4.03.00", origem=Party("CNPJ", cnpj)))
    old = samples.lote_guias_ws(sample_lot("4.02.00", origem=Party("CNPJ", cnpj)))
    assert builtin["4.03.00"].validate(new) == []
    errors = builtin["4.02.00"].validate(old)
    assert errors and "CNPJ" in errors[0].message
    # and a 4.03.00 message does not pass as 4.02.00 (Padrao is an enumeration)
    errors = builtin["4.02.00"].validate(samples.lote_guias_ws(sample_lot("4.03.00")))
    assert any("Padrao" in e.message for e in errors)


def test_validate_is_correct_under_concurrent_use():
    s = [x for x in builtin_sets() if x.version == "4.03.00"][0]  # a fresh set, fresh compile
    good = samples.lote_guias_ws(sample_lot(n=20))
    bad = samples.lote_guias_ws(sample_lot(n=20))
    bad.find(f".//{q('numeroCarteira')}").text = "x" * 30
    assert s.validate(bad) and s.validate(good) == []

    wrong: list[str] = []
    stop = threading.Event()

    def worker(element, must_fail):
        for _ in range(150):
            if stop.is_set():
                return
            if bool(s.validate(element)) != must_fail:
                wrong.append("invalid reported valid" if must_fail else "valid reported invalid")
                stop.set()

    threads = [threading.Thread(target=worker, args=(bad, True)) for _ in range(4)]
    threads += [threading.Thread(target=worker, args=(good, False)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


# ------------------------------------------------------------------ answers vs official XSD


def consulta_guides() -> list[Guide]:
    ws = samples.lote_guias_ws(sample_lot("4.03.00", "guiaConsulta", n=3))
    return read_lot(ws.find(q("loteGuias"))).guides


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("guide_type", ["guiaConsulta", "guiaSP-SADT"])
@pytest.mark.parametrize(
    "destino",
    [
        Party("CNPJ", "12345678000195"),
        Party("CPF", "12345678909"),
        Party("codigoPrestadorNaOperadora", "PREST0001"),
        None,
    ],
    ids=["cnpj", "cpf", "codigo", "unknown"],
)
def test_protocolo_recebimento_is_valid_official_tiss(
    official_ws, builtin, version, guide_type, destino
):
    lot = read_lot(samples.lote_guias_ws(sample_lot(version, guide_type, n=3)).find(q("loteGuias")))
    receipt = responses.ProtocolReceipt(
        registro_ans=REGISTRO,
        codigo_prestador="PREST0001",
        numero_lote=lot.numero_lote,
        data_envio=WHEN,
        numero_protocolo="202611210001",
        valor_total=lot.total,
        guides=lot.guides,
    )
    answer = responses.protocolo_recebimento(answer_header(version, destino), receipt)
    schema = official_ws[version]
    assert schema.validate(answer), schema.error_log
    assert builtin[version].validate(answer) == []
    assert answer.findtext(f".//{q('valorTotalProtocolo')}") == "450.00"
    assert answer.findtext(f"{q('cabecalho')}/{q('Padrao')}") == version
    assert len(answer.findall(f".//{q('dadosGuias')}")) == 3
    assert answer.findtext(q("hash")) == md5_iso(leaf_text_excluding_hash(answer))


@pytest.mark.parametrize("version", VERSIONS)
def test_protocolo_recebimento_for_odonto_guides_is_valid(official_ws, version):
    guides = [
        Guide("guiaOdonto", "OD1", "OP1", "CART1", "N", "2026-11-01", Decimal("80.00")),
        Guide("guiaOdonto", "OD2", None, "CART2", "S", None, Decimal("20.50")),
    ]
    receipt = responses.ProtocolReceipt(
        REGISTRO, "PREST0001", "L9", WHEN, "P1", Decimal("100.5"), guides
    )
    answer = responses.protocolo_recebimento(answer_header(version), receipt)
    assert official_ws[version].validate(answer), official_ws[version].error_log
    assert len(answer.findall(f".//{q('dadosGuiasOdonto')}")) == 2
    assert answer.findtext(f".//{q('valorTotalProtocolo')}") == "100.50"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("guide_type", ["guiaOdonto", "guiaSP-SADT"])
def test_situacao_protocolo_is_valid_official_tiss(official_ws, version, guide_type):
    glosa = GlosaView("1705", Decimal("30.00"), "valor acima da tabela")
    guides = (
        GuideView(guide_type, "G1", "OP1", "CART1", "N", "2026-11-01", Decimal("80.00")),
        GuideView(
            guide_type,
            "G2",
            None,
            "CART2",
            "S",
            None,
            Decimal("50.00"),
            Decimal("50.00"),
            Decimal("20.00"),
            glosas=(glosa,),
        ),
    )
    view = ProtocolView("P1", 5, "L9", WHEN.date(), "PREST0001", guides)
    answer = situacao_protocolo(answer_header(version), REGISTRO, "PREST0001", view, "3291")
    assert official_ws[version].validate(answer), official_ws[version].error_log
    box = "guiasOdonto" if guide_type == "guiaOdonto" else "guiasMedicas"
    assert len(answer.findall(f".//{q(box)}/{q('guias')}")) == 2
    carteiras = [e.text for e in answer.iter(q("numeroCarteira"))]
    assert carteiras == ["CART1", "CART2"]
    assert answer.findtext(f".//{q('glosaGuia')}/{q('motivoGlosa')}/{q('codigoGlosa')}") == "1705"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("code", ["5001", "5002", "5014", "5015", "5027", "5028", "1308"])
def test_protocolo_recebimento_erro_is_valid_official_tiss(official_ws, version, code):
    answer = responses.protocolo_recebimento_erro(answer_header(version), code)
    schema = official_ws[version]
    assert schema.validate(answer), schema.error_log
    erro = answer.find(f"{q('recebimentoLote')}/{q('mensagemErro')}")
    assert erro.findtext(q("codigoGlosa")) == code
    assert erro.findtext(q("descricaoGlosa")) == describe(code)


@pytest.mark.parametrize("version", VERSIONS)
def test_answer_hash_is_md5_over_iso_8859_1_leaf_texts(version):
    answer = responses.protocolo_recebimento_erro(
        answer_header(version, Party("CNPJ", "12345678000195")), "5014"
    )
    expected_text = (
        "PROTOCOLO_RECEBIMENTO"
        + "9001"
        + "2026-11-21"
        + "10:31:05"
        + "123456"  # origem: this operator
        + "12345678000195"  # destino: the provider
        + version
        + "5014"
        + "CÓDIGO HASH INVÁLIDO. MENSAGEM PODE ESTAR CORROMPIDA"
    )
    assert leaf_text_excluding_hash(answer) == expected_text
    assert answer.findtext(q("hash")) == md5_iso(expected_text)
    assert answer.findtext(q("hash")) != hashlib.md5(expected_text.encode()).hexdigest()
    assert answer[-1].tag == q("hash")


def test_answer_destino_is_the_provider_and_origem_the_operator():
    answer = responses.protocolo_recebimento_erro(
        answer_header("4.03.00", Party("CPF", "12345678909")), "5002", "motivo livre"
    )
    cab = answer.find(q("cabecalho"))
    assert cab.findtext(f"{q('origem')}/{q('registroANS')}") == REGISTRO
    ident = cab.find(f"{q('destino')}/{q('identificacaoPrestador')}")
    assert [(etree.QName(c).localname, c.text) for c in ident] == [("CPF", "12345678909")]
    assert answer.findtext(f".//{q('descricaoGlosa')}") == "motivo livre"


def test_answer_destino_registro_ans_is_the_senders():
    answer = responses.protocolo_recebimento_erro(
        answer_header("4.03.00", Party(REGISTRO_ANS, "654321")), "5006"
    )
    assert answer.findtext(f"{q('cabecalho')}/{q('destino')}/{q('registroANS')}") == "654321"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", list(FaultKind))
def test_tiss_fault_is_valid_official_tiss(official_ws, version, kind):
    fault = responses.tiss_fault(kind)
    assert official_ws[version].validate(fault), official_ws[version].error_log
    assert fault.tag == q("tissFaultWS")
    assert fault.findtext(q("tissFault")) == kind.value


def test_official_schema_does_reject_a_wrong_fault(official_ws):
    # The yardstick itself can say no.
    fault = etree.Element(q("tissFaultWS"), nsmap=NSMAP)
    etree.SubElement(fault, q("tissFault")).text = "QualquerCoisa"
    assert not official_ws["4.03.00"].validate(fault)
    answer = responses.protocolo_recebimento_erro(answer_header("4.03.00"), "5014")
    answer.remove(answer.find(q("hash")))
    assert not official_ws["4.03.00"].validate(answer)


def test_fault_kinds_are_exactly_the_official_st_tiss_fault():
    tree = etree.parse(str(OFFICIAL / "4.03.00" / "tissSimpleTypesV4_03_00.xsd"))
    values = tree.xpath(
        "//xs:simpleType[@name='st_tissFault']//xs:enumeration/@value",
        namespaces={"xs": "http://www.w3.org/2001/XMLSchema"},
    )
    assert sorted(values) == sorted(k.value for k in FaultKind)


def test_money_and_clip():
    assert responses.money(Decimal("1")) == "1.00"
    assert responses.money(Decimal("1234.5")) == "1234.50"
    assert responses.clip("curto", 500) == "curto"
    assert responses.clip("a" * 500, 500) == "a" * 500
    clipped = responses.clip("palavra " * 100, 500)
    assert len(clipped) <= 500


@pytest.mark.parametrize("version", VERSIONS)
def test_long_description_is_clipped_into_a_valid_answer(official_ws, version):
    answer = responses.protocolo_recebimento_erro(
        answer_header(version), "5002", "Erro de schema: " + "elemento inválido; " * 60
    )
    assert official_ws[version].validate(answer), official_ws[version].error_log
    assert len(answer.findtext(f".//{q('descricaoGlosa')}")) <= 500
    assert answer.findtext(q("hash")) == md5_iso(leaf_text_excluding_hash(answer))


@pytest.mark.parametrize("code", ["3158", "3159"])
def test_every_table_code_can_be_answered(official_ws, code):
    answer = responses.protocolo_recebimento_erro(answer_header("4.03.00"), code)
    assert official_ws["4.03.00"].validate(answer), official_ws["4.03.00"].error_log


def test_answers_use_the_tiss_namespace_with_the_ans_prefix():
    answer = responses.protocolo_recebimento_erro(answer_header("4.03.00"), "5014")
    assert answer.nsmap == {"ans": ANS}
    assert all(etree.QName(el).namespace == ANS for el in answer.iter())
