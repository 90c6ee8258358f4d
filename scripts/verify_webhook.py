#!/usr/bin/env python3
"""Verifies one delivery with the reference Standard Webhooks package (pip install standardwebhooks).

    verify_webhook.py SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE BODY_FILE

Prints "verified" and exits 0, or prints the package's error and exits 1. The webhook tests run it
on a delivery updater made, when the package is installed.
"""
import sys

from standardwebhooks.webhooks import Webhook

secret, msg_id, timestamp, signature, body_file = sys.argv[1:6]
with open(body_file, "rb") as f:
    body = f.read()
try:
    Webhook(secret).verify(body, {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature})
except Exception as e:  # the package raises WebhookVerificationError
    print(f"not verified: {e}")
    sys.exit(1)
print("verified")
