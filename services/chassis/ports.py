"""Every fixed local port, in one place (the README's settings reference repeats this table).

All listeners bind RCM_HTTP_HOST (default 127.0.0.1; the container image sets 0.0.0.0).
"""

KAFKA = 39092
KAFKA_CONTROLLER = 39093
POSTGRES = 55432

HTTP = {
    "charges": 8101,
    "claims": 8102,
    "remits": 8103,
    "notifications": 8104,
    "sandbox": 8105,
    "mailcatcher": 8106,
}
CHARGES_MLLP = 2575
MAIL_CATCHER_SMTP = 8025
DOCS = 8090
