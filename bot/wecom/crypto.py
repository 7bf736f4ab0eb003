"""WeCom callback crypto: a thin wrapper around ``wechatpy.enterprise.WeChatCrypto`` that turns
its many failure modes into two: forbidden (403) and malformed (400)."""

from __future__ import annotations

import binascii
import struct
from typing import Any

import xmltodict
from wechatpy.enterprise import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException


class CallbackError(Exception):
    """A callback we refuse; ``status`` is the HTTP answer."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Forbidden(CallbackError):
    status = 403


class Malformed(CallbackError):
    status = 400


# What a corrupt ciphertext can raise inside wechatpy (bad base64, bad block size, bad padding,
# a length field pointing past the end, bytes that are not UTF-8).
_DECRYPT_ERRORS = (binascii.Error, ValueError, struct.error, IndexError, UnicodeDecodeError, TypeError)


def parse_xml(text: str | bytes) -> dict[str, Any]:
    """The children of ``<xml>`` as a dict; Malformed on anything else (entities are refused)."""
    try:
        doc = xmltodict.parse(text, disable_entities=True)
    except Exception as e:  # expat errors, entity declarations
        raise Malformed(f"bad XML: {type(e).__name__}") from None
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise Malformed("no <xml> root")
    return root


class CallbackCrypto:
    """Verify and decrypt callbacks for one corp; ``encrypt`` builds callbacks (tests, bench)."""

    def __init__(self, token: str, aes_key: str, corp_id: str) -> None:
        if not token or len(aes_key) != 43 or not corp_id:
            raise ValueError("WECOM_TOKEN, WECOM_AES_KEY (43 characters) and WECOM_CORP_ID are required")
        self.corp_id = corp_id
        self._crypto = WeChatCrypto(token, aes_key, corp_id)

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The plaintext of ``echostr`` for the URL check (GET)."""
        if not (signature and timestamp and nonce):
            raise Forbidden("missing signature")
        if not echostr:
            raise Malformed("missing echostr")
        try:
            return str(self._crypto.check_signature(signature, timestamp, nonce, echostr))
        except InvalidSignatureException:
            raise Forbidden("bad signature") from None
        except InvalidCorpIdException:
            raise Forbidden("echostr for another CorpID") from None
        except _DECRYPT_ERRORS as e:
            raise Malformed(f"bad echostr: {type(e).__name__}") from None

    def decrypt(self, body: bytes, signature: str, timestamp: str, nonce: str) -> str:
        """The decrypted message XML of a POST body."""
        if not (signature and timestamp and nonce):
            raise Forbidden("missing signature")
        outer = parse_xml(body)
        encrypt = outer.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise Malformed("no Encrypt element")
        try:
            return str(self._crypto.decrypt_message({"Encrypt": encrypt}, signature, timestamp, nonce))
        except InvalidSignatureException:
            raise Forbidden("bad signature") from None
        except InvalidCorpIdException:
            raise Forbidden("message for another CorpID") from None
        except _DECRYPT_ERRORS as e:
            raise Malformed(f"bad ciphertext: {type(e).__name__}") from None

    def encrypt(self, xml: str, nonce: str, timestamp: str) -> tuple[bytes, str]:
        """(POST body, msg_signature) as WeCom would send them."""
        reply = parse_xml(self._crypto.encrypt_message(xml, nonce, timestamp))
        body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><AgentID><![CDATA[1]]></AgentID>"
                f"<Encrypt><![CDATA[{reply['Encrypt']}]]></Encrypt></xml>")
        return body.encode(), str(reply["MsgSignature"])

    def encrypt_echo(self, plaintext: str, nonce: str, timestamp: str) -> tuple[str, str]:
        """(echostr, msg_signature) for a URL check."""
        reply = parse_xml(self._crypto.encrypt_message(plaintext, nonce, timestamp))
        return str(reply["Encrypt"]), str(reply["MsgSignature"])
