"""The hostile-input corpus: what patients' channels and the staff app must survive.

Every entry point gets what fits it (``tests/hostile/test_hostile_input.py``):

- :data:`TEXTS` is patient text, sent as the message on every channel (REST ``message``,
  socket.io ``user_uttered``, the SMS ``Body``) and typed into every staff form field;
- :data:`REST_RAW_BODIES` and :data:`REST_JSON_BODIES` are whole request bodies for the REST
  webhook: not JSON, invalid UTF-8, JSON where text is expected, a missing or odd ``sender``;
- :data:`SOCKET_PAYLOADS` are ``user_uttered`` payloads that are not ``{"message": text}``;
- :data:`SMS_RAW_FORMS` are whole (signed) webhook bodies, :data:`SMS_FROM_VALUES` odd numbers;
- :data:`STAFF_RAW_REQUESTS` are whole login requests of the wrong shape.

Each text has a kind (:data:`KINDS`); ``/intent`` texts are Rasa's command syntax, which would
skip the NLU if it reached Rasa as typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = (
    "empty", "whitespace", "huge", "control", "emoji", "rtl", "html", "script", "sql", "template",
    "intent", "json_text", "numbers", "paths", "red_flag_in_markup",
)  # fmt: skip

HUNDRED_KB = 100_000
MULTIPART = "multipart/form-data; boundary=x"


def _nested(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


@dataclass(frozen=True)
class Hostile:
    """One hostile text and what kind of attack or accident it stands for."""

    id: str
    kind: str
    text: str

    @property
    def has_markup(self) -> bool:
        """Whether the text holds characters that HTML or XML would read as markup."""
        return any(ch in self.text for ch in "<>&\"'")


def _texts(kind: str, *texts: str) -> list[Hostile]:
    return [Hostile(f"{kind}-{number:02d}", kind, text) for number, text in enumerate(texts)]


TEXTS: list[Hostile] = [
    *_texts("empty", "", " ", "\t", "\n", "\r\n"),
    *_texts(
        "whitespace",
        "   \t\n  ",
        "\u00a0\u00a0",
        "\u200b",
        "\u3000",
        "\u2028\u2029",
        "\ufeff",
        "\u180e\u2060\u200d",
        "ab" + " " * HUNDRED_KB + "cd",
    ),
    *_texts(
        "huge",
        "a" * HUNDRED_KB,
        "my back hurts " * (HUNDRED_KB // 14),
        "😀" * (HUNDRED_KB // 4),
        "<script>" * (HUNDRED_KB // 8),
        "9" * HUNDRED_KB,
        "no numbness, " * (HUNDRED_KB // 13),
        "I had a fusion 6 weeks ago and " * (HUNDRED_KB // 31),
        "\u202e" * HUNDRED_KB,
        "x" * 5001,
        "a " * (HUNDRED_KB // 2),
    ),
    *_texts(
        "control",
        "\x00",
        "hello\x00world",
        "\x1b[31mred\x1b[0m text",
        "\x07\x08\x7f",
        "".join(chr(i) for i in range(32)),
        "\u0085next line",
        "\x9b31m",
        "I had a fusion\x00 6 weeks ago",
        "\r",
        "\x00/restart",
        "\ud83d lone surrogate",
        "\udc80\udcff",
        "\ufffe\uffff",
        "\U0010ffff\ue000",
        "\ufffd\ufffd mojibake Ã©Ã¨",
    ),
    *_texts(
        "emoji",
        "😀",
        "🔥🔥🔥 my back 🔥",
        "👨‍👩‍👧‍👦" * 20,
        "🏳️‍🌈👍🏽",
        "🤒🤕",
        "🦵 pain",
        "⚡️⚡️ shooting down my leg ⚡️",
        "1️⃣ 2️⃣",
        "🇺🇸🇲🇽",
        "Z̸̡̛̙͍̟̬͇̹̩̦̣̲̫̈́̓̈́͗̽͊͗̕a̶͉̎l̷̡̛̳̒g̸̰̈́o̸̧̍ burning",
    ),
    *_texts(
        "rtl",
        "أعاني من ألم في الظهر بعد العملية",
        "יש לי כאב גב אחרי הניתוח",
        "\u202eoG esaelp",
        "I had a \u202efusion\u202c 6 weeks ago",
        "\u200f\u200e",
        "fusion في مارس",
        "٦ weeks ago",
        "۶ هفته پیش",
        "\u2067isolate\u2069 tingling",
    ),
    *_texts(
        "html",
        "<b>bold</b>",
        "<i>I had a fusion</i>",
        "<img src=x onerror=alert(1)>",
        "<svg/onload=alert(1)>",
        "<iframe src=javascript:alert(1)>",
        '<a href="javascript:alert(1)">click</a>',
        '"><script>alert(1)</script>',
        "'><img src=x onerror=alert(1)>",
        "</textarea><script>alert(1)</script>",
        "<!-- comment -->",
        "<![CDATA[x]]>",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&#60;script&#62;",
        "<style>body{display:none}</style>",
        "<meta http-equiv=refresh content=0;url=http://example.invalid>",
        "<body onload=alert(1)>",
        "<input autofocus onfocus=alert(1)>",
        "<details open ontoggle=alert(1)>",
        "<Response><Message>pwned</Message></Response>",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        "]]>",
    ),
    *_texts(
        "script",
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//example.invalid/x.js></SCRIPT>",
        "<scr<script>ipt>alert(1)</scr</script>ipt>",
        "javascript:alert(document.cookie)",
        "<script>fetch('/staff/users',{method:'POST'})</script>",
        "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
        "<script>\nalert(1)\n</script>",
        "%3Cscript%3Ealert(1)%3C/script%3E",
        "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
    ),
    *_texts(
        "sql",
        "'; DROP TABLE events; --",
        "' OR '1'='1",
        '" OR 1=1 --',
        "1; DELETE FROM clinic_appointment_requests",
        "'); DROP TABLE clinic_staff_users;--",
        "' UNION SELECT username, password_hash FROM clinic_staff_users --",
        "admin'--",
        "%' OR sender_id LIKE '%",
        "1' AND SLEEP(5)--",
        "'; SELECT pg_sleep(5);--",
        "\\'; DROP TABLE events;--",
        "Robert'); DROP TABLE Students;--",
        "'; PRAGMA writable_schema=1; --",
        "I had a fusion'; UPDATE events SET data='x'; --",
    ),
    *_texts(
        "template",
        "{{7*7}}",
        "{{ config }}",
        "{{ self.__init__.__globals__ }}",
        "{% for i in range(999999999) %}x{% endfor %}",
        "${7*7}",
        "${jndi:ldap://example.invalid/a}",
        "#{7*7}",
        "<%= 7*7 %>",
        "{patient_name}",
        "{phone}",
        "{surgery_type} {requested_slot}",
        "{0.__class__}",
        "%s%s%s%n",
        "%(name)s",
        "{{''.__class__.__mro__[1].__subclasses__()}}",
        "[[7*7]]",
        "{!r}",
    ),
    *_texts(
        "intent",
        "/affirm",
        "/deny",
        "/restart",
        "/session_start",
        "/back",
        "/start_over",
        "/report_red_flag",
        "/request_human",
        '/inform{"surgery_type":"fusion"}',
        '/inform{"weeks_since_surgery": 500, "surgery_type": "fusion"}',
        '/inform{"phone": "+14155552671", "patient_name": "Mallory"}',
        '/affirm{"consent_to_schedule": true}',
        '/inform@1.0{"pain_course":"improving"}',
        "//restart",
        " /restart",
        "／restart",
        "/ /affirm",
        "/\n/session_start",
        "\u00a0/restart",
        '/inform{"emergency_reported": false, "red_flag_followup": false}',
        "/EXTERNAL_reminder",
        "/nlu_fallback",
        "/action_restart",
        '/greet{"requested_slot": "phone"}',
        '/inform{"symptoms": ["leg_pain", "numbness", "burning", "stinging"]}',
    ),
    *_texts(
        "json_text",
        '{"sender": "other-patient", "message": "hi"}',
        '{"surgery_type": "fusion"}',
        "[1, 2, 3]",
        "null",
        "true",
    ),
    *_texts(
        "numbers",
        "415-555-2671",
        "+1 (415) 555-2671 ext 9999999999",
        "NaN",
        "Infinity",
        "-1 weeks ago",
        "999999999999 years ago",
        "9" * 400 + " weeks ago",
        "it came back " + "9" * 400 + " weeks after the surgery",
        "I had my surgery on 31/02/2026",
        "my surgery is on 12/31/9999",
        "1e308 weeks ago",
    ),
    *_texts(
        "paths",
        "../../../etc/passwd",
        "C:\\Windows\\System32\\config",
        "http://example.invalid/?q=<script>",
        "file:///etc/shadow",
        "A" * 1000,
    ),
    *_texts(
        "red_flag_in_markup",
        "<b>I can't control my bladder</b>",
        "<script>I have a fever of 102</script>",
        "'; DROP TABLE events; -- my legs gave out and I can't walk",
        "{{7*7}} my calf is swollen and painful",
    ),
]
"""Patient texts: at least one of every kind in :data:`KINDS`."""

RED_FLAG_TEXTS = {h.id: code for h, code in zip(
    [h for h in TEXTS if h.kind == "red_flag_in_markup"],
    ["cauda_equina", "infection", "progressive_weakness", "blood_clot"],
    strict=True,
)}  # fmt: skip
"""The red flag each ``red_flag_in_markup`` text must still raise: markup never hides a red flag."""

COMMAND_SLOT_VALUES: dict[str, Any] = {
    "surgery_type": "fusion",
    "weeks_since_surgery": 500,
    "phone": "+14155552671",
    "patient_name": "Mallory",
    "consent_to_schedule": True,
    "pain_course": "improving",
    "emergency_reported": False,
    "red_flag_followup": False,
    "requested_slot": "phone",
    "symptoms": ["leg_pain", "numbness", "burning", "stinging"],
}
"""Slot values the ``/intent{...}`` texts try to set: none of them may end up in a conversation."""

RASA_INTERNAL_INTENTS = frozenset({"restart", "session_start", "back"})
"""Rasa's default intents, which run Rasa's own actions (``action_restart`` wipes the tracker)."""

REST_RAW_BODIES: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("invalid-utf8", b"\xff\xfe\xfd"),
    ("invalid-utf8-in-message", b'{"sender": "raw-1", "message": "\xff\xfe"}'),
    ("overlong-utf8-in-sender", b'{"sender": "raw-\xc0\xaf", "message": "hi"}'),
    ("truncated-utf8", b'{"sender": "raw-2", "message": "\xe2\x82'),
    ("encoded-surrogate", b'{"sender": "raw-3", "message": "\xed\xa0\x80"}'),
    ("latin-1", '{"sender": "raw-4", "message": "café naïve"}'.encode("latin-1")),
    ("utf-16", '{"sender": "raw-5", "message": "hi"}'.encode("utf-16")),
    ("utf-8-bom", b"\xef\xbb\xbf" + b'{"sender": "raw-6", "message": "hi"}'),
    ("nul-bytes", b"\x00" * 100),
    ("not-json", b"hello there"),
    ("form-encoded", b"sender=raw-7&message=hi"),
    ("json-null", b"null"),
    ("json-list", b"[]"),
    ("json-string", b'"hi"'),
    ("json-number-overflow", b"1e999"),
    ("unclosed-object", b'{"sender": "raw-8", "message": "hi"'),
    ("deep-objects", b"{" * 10_000 + b"}" * 10_000),
    ("deep-lists", b"[" * 100_000),
    ("deep-lists-closed", b'{"sender": "raw-9", "message": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
    ("deep-message", b'{"sender": "raw-10", "message": ' + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b"}"),
    ("nan-message", b'{"sender": "raw-11", "message": NaN}'),
    ("infinity-message", b'{"sender": "raw-12", "message": -Infinity}'),
    ("lone-surrogate-escape", b'{"sender": "raw-13", "message": "\\ud800\\udc00\\ud800"}'),
    ("duplicate-keys", b'{"sender": "raw-14", "message": "hi", "message": "/restart", "sender": "raw-15"}'),
    ("huge-body", b'{"sender": "raw-16", "message": "' + b"a" * 1_000_000 + b'"}'),
    ("huge-number", b'{"sender": "raw-17", "message": ' + b"9" * 5_000 + b"}"),
]
"""Whole REST bodies (``Content-Type: application/json``) that are not a clean JSON object."""

REST_JSON_BODIES: list[tuple[str, Any]] = [
    ("message-object", {"sender": "json-1", "message": {"text": "hi"}}),
    ("message-list", {"sender": "json-2", "message": ["hi", "/restart"]}),
    ("message-number", {"sender": "json-3", "message": 5}),
    ("message-float", {"sender": "json-4", "message": 1.5e300}),
    ("message-bool", {"sender": "json-5", "message": True}),
    ("message-null", {"sender": "json-6", "message": None}),
    ("message-missing", {"sender": "json-7"}),
    ("sender-missing", {"message": "hi"}),
    ("sender-object", {"sender": {"id": "json-8"}, "message": "hi"}),
    ("sender-list", {"sender": ["json-9"], "message": "hi"}),
    ("sender-bool", {"sender": True, "message": "hi"}),
    ("sender-null", {"sender": None, "message": "hi"}),
    ("sender-number", {"sender": 12345678901234567890123, "message": "hi"}),
    ("sender-float", {"sender": 1.5, "message": "hi"}),
    ("sender-empty", {"sender": "", "message": "hi"}),
    ("sender-blank", {"sender": "   ", "message": "hi"}),
    ("sender-too-long", {"sender": "s" * 300, "message": "hi"}),
    ("sender-control", {"sender": "json\x00-10", "message": "hi"}),
    ("sender-newline", {"sender": "json-11\nX-Injected: 1", "message": "hi"}),
    ("sender-sql", {"sender": "'; DROP TABLE events; --", "message": "hi"}),
    ("sender-html", {"sender": "<script>alert(1)</script>", "message": "hi"}),
    ("sender-path", {"sender": "../../etc/passwd", "message": "hi"}),
    ("sender-sms-form", {"sender": "sms-0123456789abcdef0123456789abcdef", "message": "hi"}),
    ("sender-rtl", {"sender": "\u202ejson-12", "message": "hi"}),
    ("metadata-forged", {"sender": "json-13", "message": "hi", "metadata": {"channel": "twilio", "phone": "+1415"}}),
    ("extra-fields", {"sender": "json-14", "message": "hi", "input_channel": "twilio", "stream": True}),
]
"""REST bodies that are JSON objects, with JSON (not text) where text is expected."""

SOCKET_PAYLOADS: list[tuple[str, Any]] = [
    ("none", None),
    ("string", "hi"),
    ("number", 5),
    ("list", ["hi"]),
    ("message-object", {"message": {"text": "hi"}}),
    ("message-list", {"message": ["hi"]}),
    ("message-null", {"message": None}),
    ("message-number", {"message": 5}),
    ("empty-object", {}),
    ("foreign-session", {"message": "hi", "session_id": "someone-elses-conversation"}),
    ("forged-metadata", {"message": "hi", "metadata": {"channel": "twilio", "phone": "+14155550100"}}),
    ("customData", {"message": "hi", "customData": {"<script>": "x"}}),
    ("deep-message", {"message": _nested(["hi"], 200)}),
]
"""``user_uttered`` payloads that are not ``{"message": text}``; none may stop the channel."""

SOCKET_SESSION_REQUESTS: list[tuple[str, Any]] = [
    ("none", None),
    ("string", "x"),
    ("token-object", {"session_id": {"a": 1}}),
    ("token-list", {"session_id": ["x"]}),
    ("token-huge", {"session_id": "A" * HUNDRED_KB}),
    ("token-number", {"session_id": 123}),
    ("token-forged", {"session_id": "eyJhbGciOiJub25lIn0.e30."}),
]
"""``session_request`` payloads that are not a valid token: each gets a brand-new conversation."""

SMS_RAW_FORMS: list[tuple[str, bytes]] = [
    ("invalid-utf8-percent-encoded", b"From=%2B14155550901&Body=%FF%FE%C0%AF&MessageSid=SMraw1"),
    ("encoded-surrogate", b"From=%2B14155550902&Body=%ED%A0%80&MessageSid=SMraw2"),
    ("duplicate-body", b"From=%2B14155550903&Body=hi&Body=%2Frestart&MessageSid=SMraw3"),
    ("duplicate-from", b"From=%2B14155550904&From=%2B14155550905&Body=hi&MessageSid=SMraw4"),
    ("no-body", b"From=%2B14155550906&MessageSid=SMraw5"),
    ("no-from", b"Body=hi&MessageSid=SMraw6"),
    ("only-separators", b"&&&&===&&"),
    ("nul-body", b"From=%2B14155550907&Body=%00%00&MessageSid="),
    ("deep-brackets", b"From=%2B14155550908&Body=" + b"%5B" * 10_000 + b"&MessageSid=SMraw7"),
    ("json-in-body", b"From=%2B14155550909&Body=%7B%22message%22%3A%7B%7D%7D&MessageSid=SMraw8"),
    ("twiml-in-body", b"From=%2B14155550910&Body=%3CResponse%3E%3CRedirect%3Ex%3C%2FRedirect%3E&MessageSid=SMraw9"),
    ("plus-as-space", b"From=+14155550911&Body=hi+there&MessageSid=SMraw10"),
]
"""Whole SMS webhook bodies, each signed exactly as the server will parse it."""

SMS_UNSIGNABLE: list[tuple[str, bytes, str]] = [
    ("raw-invalid-utf8", b"From=%2B14155550920&Body=\xff\xfe", "application/x-www-form-urlencoded"),
    ("over-64kb", b"From=%2B14155550921&Body=" + b"a" * 70_000, "application/x-www-form-urlencoded"),
    ("json", b'{"From": "+14155550922", "Body": "hi"}', "application/json"),
    ("multipart", b"--x\r\nContent-Disposition: form-data; name=Body\r\n\r\nhi\r\n--x--", MULTIPART),
]
"""SMS bodies the signature check can't even read: refused (403), never passed to the bot."""

SMS_FROM_VALUES: list[str] = [
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "+1" + "9" * 70,
    "\x00",
    " ",
    "\uff0b14155550930",
    "a\u202eb",
    "{{7*7}}",
    "+1 (415) 555-0931",
]
"""Odd ``From`` numbers (each signed): an answer or a 400, never a 5xx."""

STAFF_RAW_REQUESTS: list[tuple[str, bytes, str]] = [
    ("invalid-utf8-form", b"username=\xff\xfe&password=\xc0\xaf&csrf=x", "application/x-www-form-urlencoded"),
    ("json-body", b'{"username": "admin", "password": {"$ne": null}}', "application/json"),
    ("empty", b"", "application/x-www-form-urlencoded"),
    ("nul", b"\x00" * 64, "application/x-www-form-urlencoded"),
    ("duplicate-fields", b"username=a&username=b&password=x&password=y&csrf=z", "application/x-www-form-urlencoded"),
    ("huge-username", b"username=" + b"a" * HUNDRED_KB + b"&password=x&csrf=z", "application/x-www-form-urlencoded"),
    ("broken-multipart", b"--x\r\nContent-Disposition: form-data; name=username\r\n\r\nadmin", MULTIPART),
    ("multipart-no-boundary", b"username=admin", "multipart/form-data"),
    ("deep-brackets", b"username=" + b"%5B" * 10_000 + b"&password=x", "application/x-www-form-urlencoded"),
    ("plain-text", b"username admin password x", "text/plain"),
]
"""Whole ``POST /staff/login`` bodies of the wrong shape."""


def corpus_size() -> int:
    """Every hostile input of the corpus, all entry points together."""
    return (
        len(TEXTS)
        + len(REST_RAW_BODIES)
        + len(REST_JSON_BODIES)
        + len(SOCKET_PAYLOADS)
        + len(SOCKET_SESSION_REQUESTS)
        + len(SMS_RAW_FORMS)
        + len(SMS_UNSIGNABLE)
        + len(SMS_FROM_VALUES)
        + len(STAFF_RAW_REQUESTS)
    )
