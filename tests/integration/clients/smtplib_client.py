"""Sends one message with Python's smtplib, the way an application would.

Used by tests/integration/smtp_clients_test.cc through /usr/bin/python3. The message file is
sent as bytes (smtplib dot-stuffs it and ends it with CRLF . CRLF, nothing else), so the
test knows exactly what the server must store. Prints the server's replies and exits 0 when
every recipient was accepted, 1 with the error otherwise.
"""
import argparse
import smtplib
import ssl
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["plain", "ssl", "starttls"], default="plain")
    parser.add_argument("--ehlo", default="python.test")
    parser.add_argument("--sender", required=True)
    parser.add_argument("--rcpt", action="append", required=True)
    parser.add_argument("--message", required=True, help="file with the message bytes")
    parser.add_argument("--mail-option", action="append", default=[])
    parser.add_argument("--login", nargs=2, metavar=("USER", "PASSWORD"))
    args = parser.parse_args()

    # The server's certificate is self-signed: this tests SMTP, not the PKI.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    with open(args.message, "rb") as f:
        message = f.read()
    try:
        if args.mode == "ssl":
            client = smtplib.SMTP_SSL("127.0.0.1", args.port, local_hostname=args.ehlo,
                                      context=context, timeout=60)
        else:
            client = smtplib.SMTP("127.0.0.1", args.port, local_hostname=args.ehlo, timeout=60)
        with client:
            client.ehlo()
            if args.mode == "starttls":
                print("starttls:", client.starttls(context=context))
                client.ehlo()
            if args.login:
                print("login:", client.login(*args.login))
            refused = client.sendmail(args.sender, args.rcpt, message,
                                      mail_options=args.mail_option)
            print("refused:", refused)
    except (smtplib.SMTPException, OSError) as error:
        print("error:", repr(error))
        return 1
    return 0 if not refused else 1


if __name__ == "__main__":
    sys.exit(main())
