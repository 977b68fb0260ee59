"""Verifies webhook deliveries with the Standard Webhooks reference library
for Python (an implementation of the specification independent of the one
that signs them). Reads a JSON list of {"secret", "headers", "body"} on
stdin and prints one line per delivery: "ok" or the verifier's error."""
import json
import sys

from standardwebhooks.webhooks import Webhook

for d in json.load(sys.stdin):
    try:
        Webhook(d["secret"]).verify(d["body"].encode(), d["headers"])
        print("ok")
    except Exception as e:  # the verifier's refusal is the answer
        print("refused: %s" % e)
