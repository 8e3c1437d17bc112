"""Files the project ships beside the code: its WSDLs (wsdl/) and its own schemas (xsd/)."""

from pathlib import Path
from string import Template

from gateway.services.inbound import ServiceSpec
from gateway.tiss.namespaces import version_file_tag, version_slug

_ROOT = Path(__file__).resolve().parent.parent
TISS_WSDL = "tissWebService.wsdl"


def wsdl_dir() -> Path:
    return _ROOT / "wsdl"


def xsd_dir() -> Path:
    return _ROOT / "xsd"


def render_tiss_wsdl(spec: ServiceSpec, version: str, address: str, schema_base: str) -> bytes:
    """The project's WSDL of a TISS service for `version`, pointing at this gateway. The official
    part names are the element names without their `WS` suffix."""
    template = Template((wsdl_dir() / TISS_WSDL).read_text("utf-8"))
    return template.substitute(
        service=spec.name,
        service_lower=spec.name.lower(),
        request_part=spec.request_root.removesuffix("WS"),
        request_root=spec.request_root,
        response_part=spec.response_root.removesuffix("WS"),
        response_root=spec.response_root,
        version_slug=version_slug(version),
        version_tag=version_file_tag(version),
        address=address,
        schema_base=schema_base,
    ).encode("utf-8")


BACKOFFICE = "tissGatewayBackOffice"


def backoffice_xsd_path() -> Path:
    return xsd_dir() / f"{BACKOFFICE}.xsd"


def render_backoffice_wsdl(address: str, schema_location: str) -> bytes:
    """The back-office WSDL, pointing at this gateway and at the XSD it serves."""
    template = Template((wsdl_dir() / f"{BACKOFFICE}.wsdl").read_text("utf-8"))
    return template.substitute(address=address, schema_location=schema_location).encode("utf-8")
