#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from the spec examples
(webhook-core/tests/fixtures/, byte-exact copies of shared/spec/ examples) and
the signature test vectors the specs give. Run from anywhere; it rewrites the seeds.

The seeds are committed; this script is only needed to regenerate them."""
import base64, hashlib, hmac, os, shutil, struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "crates", "webhook-core", "tests", "fixtures")
OUT = os.path.join(HERE, "corpus")


def fixture(path):
    with open(os.path.join(FIX, path), "rb") as f:
        return f.read()


def hm(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


seeds = {}


def add(target, name, data):
    seeds.setdefault(target, {})[name] = data if isinstance(data, bytes) else data.encode()


STALWART_KEY = b"my-secret-key"
EMAIL_KEY = b"It's a Secret to Everybody"
MAILTRAP_KEY = b"8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e"
STD_KEY = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
STD_ID, STD_TS, STD_BODY = b"msg_p5jXN8AQM9LWM0D4loKWxJek", b"1614265330", b'{"test": 2432232314}'

stalwart = {f"example-{i}": fixture(f"stalwart/example-{i}.json") for i in (1, 2, 3)}
email = {n: fixture(f"email-api/{n}.json") for n in ("delivered", "bounced")}
email_pretty = {n + ".pretty": fixture(f"email-api/{n}.pretty.json") for n in ("delivered", "bounced")}
mailtrap_json = {n: fixture(f"mailtrap/{f}") for n, f in [
    ("bounce", "bounce.json"), ("cross-sdk-vector", "cross-sdk-vector.json"),
    ("audit", "audit.json"), ("seed-batch-pretty", "seed-batch.pretty.json")]}
mailtrap_jsonl = {"events": fixture("mailtrap/events.jsonl")}
mailtrap_form = {"form": fixture("mailtrap/form.txt"), "seed-form": fixture("mailtrap/seed-form.txt")}
wildduck = {"mailbox-created": fixture("wildduck/mailbox-created.json")}
standard = {
    "spec-vector": STD_BODY,
    "resend": b'{"type":"email.delivered","created_at":"2024-02-22T23:41:12.126Z","data":{"email_id":"56761188"}}',
    "svix": b'{"type":"invoice.paid","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"inv_1","amount":42}}',
}

# Event-body parsers.
for n, b in stalwart.items():
    add("body_stalwart", n, b)
for n, b in {**email, **email_pretty}.items():
    add("body_email_api", n, b)
for n, b in mailtrap_json.items():
    add("body_mailtrap_json", n, b)
for n, b in mailtrap_jsonl.items():
    add("body_mailtrap_jsonl", n, b)
for n, b in mailtrap_form.items():
    add("body_mailtrap_form", n, b)
for n, b in wildduck.items():
    add("body_wildduck", n, b)
for n, b in standard.items():
    add("body_standard", n, b)

# Event type names and scheme ids.
for name in ["auth.success", "auth.failure", "queue.queue-message", "queue.message-queued",
             "task-queue.task-queued", "delivery.delivered", "telemetry.webhook-error", "dsn",
             "delivered", "bounced", "hard", "user.created", "forward added", "mailbox.created",
             "delivery", "soft bounce", "audit_log.login", "transactional", "bulk",
             "stalwart", "Email-API", "svix", "standard-webhooks", "wildduck"]:
    add("event_types", name.replace(" ", "_"), name)

# Filters: flags, then pattern_a, pattern_b, name, subscription user, event user.
for i, lines in enumerate([
    ["auth.*", "*-error", "auth.success", "", ""],
    ["address.user.*", "address.*", "address.user.created", "6561f0c2a1b2c3d4e5f60719", "6561f0c2a1b2c3d4e5f60719"],
    ["address,user.*", " User.* ", "address.user.created", "u1", "u2"],
    ["*", "delivery.delivered", "delivery.delivered", "", ""],
    ["forward added", "a*b", "forward added", "", ""],
]):
    add("filter_match", f"seed-{i}", bytes([3 if lines[3] else 0]) + "\n".join(lines).encode())

# Signature headers: flags byte, then values.
stalwart_sig = fixture("stalwart/example-1.sig").strip()
add("sig_stalwart", "valid", b"\x00" + stalwart_sig)
add("sig_stalwart", "twice", b"\x01" + stalwart_sig + b"\n" + stalwart_sig)
add("sig_stalwart", "url-safe", b"\x00" + stalwart_sig.replace(b"/", b"_"))

email_sig = b"sha256=" + hm(EMAIL_KEY, b"Hello, World!").hex().encode()
add("sig_email_api", "valid", b"\x01" + email_sig)
add("sig_email_api", "github", b"\x02" + email_sig.upper())
add("sig_email_api", "both", b"\x03" + email_sig + b"\n" + email_sig)
add("sig_email_api", "sha1", b"\x01sha1=0123456789abcdef0123456789abcdef01234567")

mt_body = mailtrap_json["cross-sdk-vector"]
mt_sig = hm(MAILTRAP_KEY, mt_body).hex().encode()
assert mt_sig == fixture("mailtrap/cross-sdk-vector.sig").strip(), "Mailtrap vector"
add("sig_mailtrap", "valid", b"\x01" + mt_sig)
add("sig_mailtrap", "legacy", b"\x02" + mt_sig)
add("sig_mailtrap", "prefixed", b"\x01sha256=" + mt_sig)

std_sig = b"v1," + base64.b64encode(hm(STD_KEY, STD_ID + b"." + STD_TS + b"." + STD_BODY))
assert std_sig == b"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "Standard Webhooks vector"
add("sig_standard", "valid", b"\x00" + std_sig + b"\n" + STD_ID + b"\n" + STD_TS)
add("sig_standard", "svix", b"\x07v1a,abc " + std_sig + b"\n" + STD_ID + b"\n" + STD_TS)
add("sig_standard", "both-names", b"\x08" + std_sig + b" v1,AAAA\n" + STD_ID + b"\n" + STD_TS)

basic = b"Basic " + base64.b64encode(b"account:s3cr3t")
add("sig_authorization", "basic", b"\x00" + basic)
add("sig_authorization", "bearer", b"\x01Bearer tok-123")
add("sig_authorization", "basic-token", b"\x02basic   " + base64.b64encode(b"account:s3cr3t") + b"\nx=1&token=a+b%26c")
add("sig_authorization", "bearer-token", b"\x03Bearer tok-123\ntoken=a%20b%26c&token=x")

# verify_parse: flags, 2-byte bit position, header value, "\n", body.
# flags: scheme (0 Stalwart, 1 email-API, 2 Mailtrap, 3 Standard, 4 WildDuck),
# 8 replay window, 0x00/0x10/0x20/0x30 content type (json/jsonl/form/none), 0x80 signed.
def vp(name, flags, value, body, pos=77):
    add("verify_parse", name, bytes([flags]) + struct.pack("<H", pos) + value + b"\n" + body)

vp("stalwart-raw", 0x00, stalwart_sig, stalwart["example-1"])
vp("stalwart-signed-replay", 0x88, b"", stalwart["example-1"])
vp("stalwart-signed-2", 0x80, b"", stalwart["example-2"])
vp("email-signed-replay", 0x89, b"", email["delivered"])
vp("email-raw", 0x01, b"sha256=" + hm(EMAIL_KEY, email["bounced"]).hex().encode(), email["bounced"])
vp("mailtrap-raw", 0x02, mt_sig, mt_body)
vp("mailtrap-jsonl", 0x92, b"", mailtrap_jsonl["events"])
vp("mailtrap-form", 0xa2, b"", mailtrap_form["form"])
vp("mailtrap-none", 0xb2, b"", mailtrap_json["bounce"])
vp("standard-signed", 0x83, b"", standard["resend"])
vp("standard-raw", 0x03, b"v1," + base64.b64encode(hm(STD_KEY, STD_ID + b".1755784900." + standard["svix"])), standard["svix"])
vp("wildduck-raw", 0x04, basic, wildduck["mailbox-created"])
vp("wildduck-signed", 0x84, b"", wildduck["mailbox-created"])

# diagnose: bodies to re-serialize (compact, pretty, nested, duplicate keys, JSON Lines).
add("diagnose", "stalwart-example-1", stalwart["example-1"])
add("diagnose", "mailtrap-pretty", mailtrap_json["seed-batch-pretty"])
add("diagnose", "jsonl", mailtrap_jsonl["events"])
add("diagnose", "nested", b'[[[[[[[[0,1,2,[{"b":1,"a":[2,3.5e3,"x\\u00e9"]}]]]]]]]]')
add("diagnose", "duplicate-key-crlf", b'{"z":1,"a":2,"a":3}\r\n')

if os.path.isdir(OUT):
    shutil.rmtree(OUT)
for target, files in sorted(seeds.items()):
    os.makedirs(os.path.join(OUT, target))
    for name, data in files.items():
        with open(os.path.join(OUT, target, name), "wb") as f:
            f.write(data)
print(f"{sum(len(f) for f in seeds.values())} seeds for {len(seeds)} targets in {OUT}")
