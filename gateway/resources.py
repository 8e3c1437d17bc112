"""Files the project ships beside the code: its WSDLs (wsdl/) and its own schemas (xsd/)."""

from pathlib import Path
from string import Template

from gateway.tiss.namespaces import version_file_tag, version_slug

_ROOT = Path(__file__).resolve().parent.parent


def wsdl_dir() -> Path:
    return _ROOT / "wsdl"


def has_wsdl(service: str) -> bool:
    return (wsdl_dir() / f"{service}.wsdl").is_file()


def render_wsdl(service: str, version: str, address: str, schema_base: str) -> bytes:
    """The project's WSDL of `service` for `version`, pointing at this gateway."""
    template = Template((wsdl_dir() / f"{service}.wsdl").read_text("utf-8"))
    return template.substitute(
        version_slug=version_slug(version),
        version_tag=version_file_tag(version),
        address=address,
        schema_base=schema_base,
    ).encode("utf-8")
