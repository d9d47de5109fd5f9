"""A real SMTP server for mon's email tests: aiosmtpd (pip install aiosmtpd) with
STARTTLS required and AUTH (LOGIN/PLAIN) required after TLS.

Usage: smtp_server.py PORT CERT KEY OUT USER PASSWORD
Each accepted message is appended to OUT as one JSON line; "ready" is printed
once the server listens.
"""
import email
import email.policy
import json
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, out, user, password = sys.argv[1:7]


class Handler:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps({
                "subject": message["subject"],
                "message_id": message["message-id"],
                "text": text.get_content() if text else None,
                "html": html.get_content() if html else None,
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "data": envelope.content.decode("utf-8", "replace"),
                "authenticated": bool(session.authenticated),
                "login": (session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None),
                "tls": session.ssl is not None,
            }) + "\n")
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == user.encode()
          and auth_data.password == password.encode())
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=int(port),
    tls_context=context,
    require_starttls=True,
    auth_required=True,
    auth_require_tls=True,
    authenticator=authenticate,
)
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
