"""SHA-256 of the official ANS schema files the gateway trusts without an import."""

# SHA-256 of the official files as published by ANS (4.03.00: PadroTISSComunicao_202511.zip;
# 4.02.00: PadroTISSComunicao202505.zip). Kept here, not read from the package, so that a
# tampered or different `tiss` release cannot change what the gateway trusts.
BUILTIN_SHA256: dict[str, dict[str, str]] = {
    "4.03.00": {
        "tissV4_03_00.xsd": "d4c421c7e3cf936551b70d6bd794a419867b6daea554d557b4d928363c54044c",
        "tissWebServicesV4_03_00.xsd": "3044f18d2e984910c7670e3357724c2f5798d64cc4ab5919094389a3f01bce02",
        "tissComplexTypesV4_03_00.xsd": "83a24d606620cd3907c5cd574a71bf9c4411a2ec9e0510979f44293fe7c5956a",
        "tissSimpleTypesV4_03_00.xsd": "d854debf58ac2d96194f72db95315ef2d102de57aeaf0388512f242824fdc794",
        "tissGuiasV4_03_00.xsd": "587f0b6bac24175c50635ede52356cab00ff1ae28b550adc42e3a7f03cf605c7",
        "tissAssinaturaDigital_v1.01.xsd": "8567690a0eb05b9681fdc575ca7c867f75bf5cb33573175b8d333617ef035221",
        "xmldsig-core-schema.xsd": "b6388292d746c6cc8f932ce3b6bf7c7fc0bf6cba58ec385b38988887bcf5fdbb",
    },
    "4.02.00": {
        "tissV4_02_00.xsd": "193e727c93120f21a2ca0483e261f1b0205069bf0bafc8bcbeb83a51145f324b",
        "tissWebServicesV4_02_00.xsd": "060569ecb0c8577282e23aadff223d0445dd0975e1ff29f7025fb88346f96ada",
        "tissComplexTypesV4_02_00.xsd": "18e927e8c65f9734c65b047db42533c96bb899d6f1494c517afb8abdb97ccbea",
        "tissSimpleTypesV4_02_00.xsd": "a0a3e8bff37827a468915b70c44e913a335cd6b703c1e9d0661d77dc9033370a",
        "tissGuiasV4_02_00.xsd": "20a7c80218d0a6551bc736f22895196ebc892e18e9f8ac214957691446d61284",
        "tissAssinaturaDigital_v1.01.xsd": "8567690a0eb05b9681fdc575ca7c867f75bf5cb33573175b8d333617ef035221",
        "xmldsig-core-schema.xsd": "b6388292d746c6cc8f932ce3b6bf7c7fc0bf6cba58ec385b38988887bcf5fdbb",
    },
}
