#!/usr/bin/env python3
"""A second, independent SAML IdP for Janua's SSO tests: pysaml2 (Debian python3-pysaml2) signing and encrypting
with xmlsec1. Reads one JSON object on stdin, writes one on stdout.

  {"cmd": "metadata", "entity_id", "sso_url", "key_pem", "cert_pem"}            -> {"metadata_xml"}
  {"cmd": "response", "entity_id", "sso_url", "key_pem", "cert_pem", "sp_metadata_xml",
   "sp_entity_id", "acs_url", "in_response_to", "name_id", "attributes": {name: [values]},
   "sign_response", "sign_assertion", "encrypt_assertion", "authn_context_class_ref"?}  -> {"saml_response": base64}

The SP is described to pysaml2 by its own metadata (what Janua publishes), so the audience, the ACS and the
encryption certificate come from there, as with a real IdP. Errors: exit 1 with {"error"}.
"""
import base64
import functools
import json
import os
import sys
import tempfile

import saml2.entity
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, sigver
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server

XMLSEC = "/usr/bin/xmlsec1"
AES256_CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"

# pysaml2 encrypts with 3DES unless told otherwise; Janua refuses 3DES (an insecure cipher), and IdPs in use
# (SATOSA on pysaml2 included) configure AES. Both the template's algorithm and xmlsec1's session key change.
saml2.entity.pre_encryption_part = functools.partial(sigver.pre_encryption_part, msg_enc=AES256_CBC)


def config(req, tmp):
    key = os.path.join(tmp, "idp.key")
    cert = os.path.join(tmp, "idp.crt")
    with open(key, "w") as f:
        f.write(req["key_pem"])
    with open(cert, "w") as f:
        f.write(req["cert_pem"])
    conf = {
        "entityid": req["entity_id"],
        "xmlsec_binary": XMLSEC,
        "key_file": key,
        "cert_file": cert,
        "service": {
            "idp": {
                "endpoints": {
                    "single_sign_on_service": [
                        (req["sso_url"], BINDING_HTTP_REDIRECT),
                        (req["sso_url"], BINDING_HTTP_POST),
                    ]
                },
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                "policy": {
                    "default": {
                        "lifetime": {"minutes": 5},
                        "name_form": NAME_FORMAT_BASIC,
                        "attribute_restrictions": None,
                    }
                },
                "want_authn_requests_signed": False,
            }
        },
    }
    if req.get("sp_metadata_xml"):
        sp_md = os.path.join(tmp, "sp.xml")
        with open(sp_md, "w") as f:
            f.write(req["sp_metadata_xml"])
        conf["metadata"] = {"local": [sp_md]}
    cfg = IdPConfig()
    cfg.load(conf)
    return cfg


def cert_body(pem):
    return "".join(line for line in pem.strip().splitlines() if "-----" not in line)


def main():
    req = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(req, tmp)
        if req["cmd"] == "metadata":
            xml = create_metadata_string(None, config=cfg, sign=False)
            out = {"metadata_xml": xml.decode() if isinstance(xml, bytes) else xml}
        elif req["cmd"] == "response":
            server = Server(config=cfg)
            server.sec.encrypt_assertion = functools.partial(server.sec.encrypt_assertion, key_type="aes-256")
            resp = server.create_authn_response(
                identity=req.get("attributes") or {},
                in_response_to=req.get("in_response_to"),
                destination=req["acs_url"],
                sp_entity_id=req["sp_entity_id"],
                name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=req["name_id"]),
                userid=req["name_id"],
                authn={
                    "class_ref": req.get("authn_context_class_ref")
                    or "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
                },
                sign_response=bool(req.get("sign_response")),
                sign_assertion=bool(req.get("sign_assertion")),
                encrypt_assertion=bool(req.get("encrypt_assertion")),
                encrypt_assertion_self_contained=True,
            )
            xml = str(resp)
            out = {"saml_response": base64.b64encode(xml.encode()).decode()}
        else:
            raise ValueError("unknown cmd %r" % req["cmd"])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the TS wrapper shows the message
        json.dump({"error": "%s: %s" % (type(e).__name__, e)}, sys.stdout)
        sys.exit(1)
