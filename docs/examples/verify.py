#!/usr/bin/env python3
"""Verifies one dialer-webhooks request: both signatures and the timestamp.

    WEBHOOK_SECRET='whsec_...' python3 verify.py headers.json < body

headers.json holds the request's headers as a JSON object; stdin is the raw request body.
Exit 0 when both signatures verify and the timestamp is fresh, 1 when not, 2 on bad usage.
Python 3.8 or newer, standard library only.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import sys
import time

TOLERANCE_SECONDS = 5 * 60


def verify_spec_signature(body: bytes, header: str, secret: str) -> bool:
    """X-Webhook-Signature: lowercase hex HMAC-SHA256 of the raw body, keyed by the secret string as is."""
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), (header or "").encode("utf-8"))


def verify_standard_signature(body: bytes, headers: dict, secret: str) -> bool:
    """webhook-signature (Standard Webhooks): base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>",
    keyed by the base64-decoded part of the secret after "whsec_". During a secret rotation the header
    holds one "v1,<signature>" per valid secret, separated by spaces: one match is enough."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        return False
    if secret.startswith("whsec_"):
        encoded = secret[len("whsec_"):]
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    else:
        key = secret.encode("utf-8")
    signed = f"{msg_id}.{timestamp}.".encode("utf-8") + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    return any(
        sig.startswith("v1,") and hmac.compare_digest(expected, sig[len("v1,"):].encode("utf-8"))
        for sig in signatures.split(" ")
    )


def timestamp_is_fresh(headers: dict, now=None) -> bool:
    """Replay protection: webhook-timestamp (unix seconds of this attempt) within 5 minutes of now."""
    timestamp = headers.get("webhook-timestamp", "")
    if not re.fullmatch(r"[0-9]+", timestamp):
        return False
    return abs((time.time() if now is None else now) - int(timestamp)) <= TOLERANCE_SECONDS


def main() -> int:
    secret = os.environ.get("WEBHOOK_SECRET")
    if len(sys.argv) != 2 or not secret:
        print("usage: WEBHOOK_SECRET='whsec_...' python3 verify.py headers.json < body", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        # Header names are case-insensitive: look them up in lowercase.
        headers = {name.lower(): str(value) for name, value in json.load(f).items()}
    body = sys.stdin.buffer.read()  # the raw bytes, exactly as received: never a re-serialized object

    checks = {
        "X-Webhook-Signature": verify_spec_signature(body, headers.get("x-webhook-signature"), secret),
        "webhook-signature": verify_standard_signature(body, headers, secret),
        "webhook-timestamp within 5 minutes": timestamp_is_fresh(headers),
    }
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
